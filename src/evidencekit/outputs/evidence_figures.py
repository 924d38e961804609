"""Figures of the evidence base: the evidence map and the risk-of-bias traffic light.

matplotlib is imported inside each function, as in :mod:`evidencekit.outputs.figures`; each
returns the matplotlib Figure and accepts an optional ``ax``.
"""
from __future__ import annotations

from ..vocab import CERTAINTY_LEVELS
from ..grade.study_names import study_name
from .figures import new_axes, renderer_of, wrap_to_width

__all__ = ["EVIDENCE_MAP_DESIGNS", "CERTAINTY_COLOURS", "ROB_STYLE", "evidence_map",
           "risk_of_bias_plot"]


# evidence map and risk-of-bias traffic light (patient-material figures; used by render.build)

#: Designs in the order of the evidence map's columns: syntheses, then comparisons from strongest to
#: weakest, then designs that cannot show an effect in patients.
def _map_designs() -> tuple[str, ...]:
    # every design a record may have (records.Design), reviews first, so that no study a review
    # holds lacks a column in the evidence map
    from typing import get_args

    from ..evidence.records import Design

    designs = get_args(Design)
    return ("systematic-review",) + tuple(d for d in designs if d != "systematic-review")


EVIDENCE_MAP_DESIGNS = _map_designs()
_DESIGN_LABELS = {
    "systematic-review": "Systematic\nreview", "randomised-trial": "Randomised\ntrial",
    "within-subject-trial": "Within-person\ntrial", "non-randomised-comparison": "Non-randomised\ncomparison",
    "case-series": "Case\nseries", "narrative-review": "Narrative\nreview",
    "animal-study": "Animal\nstudy", "protocol": "Protocol",
}
#: Certainty colours: one hue per level from a colour-blind-safe sequence (Okabe-Ito); the level is
#: also written beside each question, so colour is never the only cue.
CERTAINTY_COLOURS = {"high": "#009E73", "moderate": "#56B4E9", "low": "#E69F00",
                     "very low": "#D55E00", None: "#999999"}

#: Risk-of-bias judgements: colour and symbol, as in robvis (McGuinness & Higgins 2021).
ROB_STYLE = {
    "low": ("#02C100", "+", "Low"),
    "some-concerns": ("#E2DF07", "-", "Some concerns"),
    "high": ("#BF0000", "x", "High"),
    "not-assessable": ("#A0A0A0", "?", "Not assessable"),
    "not-applicable": ("#E8E8E8", "", "Not applicable"),
}


def _wrap(text: str, width: int = 34) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(str(text), width)) or str(text)


def evidence_map(library, certainty=None, ax=None):
    """Evidence map: which kinds of study speak to which question, and how many took part.

    Parameters
    ----------
    library
        A loaded library (``.questions`` with their ``evidence`` lists, ``.studies``).
    certainty
        Optional mapping question id -> certainty level (``"high"`` ... ``"very low"``); colours the
        bubbles and is written beside each question.
    ax
        Axes to draw on; a new Figure is made when omitted.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    One row per question (file order), one column per study design present. A bubble's area is
    proportional to the participants enrolled in those studies (studies with no reported n count
    as zero and the bubble is drawn hollow); the number inside is how many studies. Empty cells are
    gaps: no study of that design addresses the question. After the evidence-map convention of
    Miake-Lye et al., Syst Rev 2016;5:28.
    """
    import math
    import textwrap

    certainty = dict(certainty or {})
    questions = list(library.questions.values())
    studies = library.studies
    present = {s.design for q in questions for ev in q.evidence
               for s in [studies.get(ev.study)] if s is not None}
    designs = [d for d in EVIDENCE_MAP_DESIGNS if d in present] or ["randomised-trial"]
    fig, ax = new_axes(ax, (1.4 + 1.25 * len(designs) + 3.2, 0.9 + 0.75 * max(1, len(questions))),
                    layout="constrained")

    cells = {}
    for qi, q in enumerate(questions):
        seen = set()
        for ev in q.evidence:
            s = studies.get(ev.study)
            if s is None or s.id in seen:
                continue
            seen.add(s.id)
            k, n, unknown = cells.get((qi, s.design), (0, 0, 0))
            cells[(qi, s.design)] = (k + 1, n + (s.population.n or 0),
                                     unknown + (s.population.n is None))
    max_n = max([n for _, n, _ in cells.values()] + [1])
    for (qi, design), (k, n, unknown) in sorted(cells.items()):
        x = designs.index(design)
        colour = CERTAINTY_COLOURS.get(certainty.get(questions[qi].id))
        # Area proportional to participants, with a floor so a 4-person study is still visible.
        size = 120 + 1600 * math.sqrt(n / max_n) ** 2 if n else 260
        hollow = n == 0
        ax.scatter([x], [qi], s=size, facecolors="none" if hollow else colour,
                   edgecolors=colour if hollow else "#333333", linewidths=1.5 if hollow else 0.6,
                   alpha=1.0 if hollow else 0.85, zorder=3)
        ax.annotate(f"{k}", (x, qi), ha="center", va="center", fontsize=9, zorder=4,
                    color="#000000")
        if n:
            # Beside the bubble (radius in points = sqrt(area / pi)), so it never overlaps it.
            ax.annotate(f"n={n}", (x, qi), xytext=(math.sqrt(size / math.pi) + 3, 0),
                        textcoords="offset points", ha="left", va="center", fontsize=7,
                        color="#333333")
    ax.set_xticks(range(len(designs)), [_DESIGN_LABELS.get(d, d.replace("-", "\n").capitalize()) for d in designs], fontsize=8)
    labels = []
    for q in questions:
        level = certainty.get(q.id)
        labels.append(_wrap(q.title) + (f"\n(certainty: {level})" if level else ""))
    ax.set_yticks(range(len(questions)), labels, fontsize=8)
    ax.set_xlim(-0.6, len(designs) - 0.4)
    ax.set_ylim(len(questions) - 0.4, -0.6)
    ax.xaxis.tick_top()
    ax.grid(True, color="#e5e5e5", zorder=0)
    ax.set_axisbelow(True)
    for side in ("right", "bottom"):
        ax.spines[side].set_visible(False)
    if certainty:
        from matplotlib.lines import Line2D

        handles = [Line2D([], [], marker="o", linestyle="", markersize=9,
                          markerfacecolor=CERTAINTY_COLOURS[lv], markeredgecolor="#333333",
                          label=lv) for lv in reversed(CERTAINTY_LEVELS)]
        ax.legend(handles=handles, title="Certainty", loc="upper left",
                  bbox_to_anchor=(1.01, 1.0), fontsize=8, title_fontsize=8, frameon=False)
    heading = ("Evidence map: number of studies by question and design; n = participants "
               "(animals for animal studies); hollow = n not reported")
    # a long title on a narrow map (one or two designs) wraps instead of running off the figure:
    # first by an estimate (about 0.6 em per character), so the layout never collapses, then to
    # the measured width
    per_line = max(20, int(fig.get_figwidth() * 72 / (9 * 0.6)))
    wrapped = textwrap.wrap(heading, per_line)
    if ax.get_subplotspec() is not None and len(fig.axes) == 1:
        # each extra title line gets its own height, so a one-question map keeps its axes
        fig.set_figheight(fig.get_figheight() + 0.4 * (len(wrapped) - 1))
        if certainty:  # the certainty key (a title and four rows) fits beside few questions
            fig.set_figheight(max(fig.get_figheight(), 2.2 + 0.4 * len(wrapped)))
    title = ax.set_title("\n".join(wrapped), fontsize=9, pad=28)
    wrap_to_width(title, 0.95 * fig.bbox.width - 12, renderer_of(fig))
    return fig


def risk_of_bias_plot(studies, ax=None, *, labels=None):
    """Risk-of-bias traffic-light plot: one row per study, one column per domain plus overall.

    Parameters
    ----------
    studies
        Study records (an iterable, a mapping of id -> Study, or a library with ``.studies``).
    ax
        Axes to draw on; a new Figure is made when omitted.
    labels
        Optional mapping study id -> row label (e.g. "Hsieh et al. 2007"); default: each
        study's ``short_title``.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Layout and colours after robvis's traffic-light plot (McGuinness LA, Higgins JPT. Res Synth
    Methods 2021;12:55-61): columns headed D1, D2, ... with the domain names in a key under the
    plot, so long names never run into each other. Each judgement has a symbol as well as a
    colour (+ low, - some concerns, x high, ? not assessable), so the plot reads in greyscale and
    for colour-blind readers. A blank cell is a domain that study's record does not assess.
    """
    import textwrap

    from matplotlib.lines import Line2D

    library = studies if hasattr(studies, "studies") and hasattr(studies, "references") else None
    if hasattr(studies, "studies"):
        studies = studies.studies
    if hasattr(studies, "values"):
        studies = studies.values()
    studies = list(studies)
    labels = dict(labels or {})
    if not labels and library is not None:
        labels = {s.id: study_name(library, s.id) for s in studies}
    domains = []
    for s in studies:
        for d in s.risk_of_bias.domains:
            if d.name not in domains:
                domains.append(d.name)
    columns = [f"D{i + 1}" for i in range(len(domains))] + ["Overall"]
    key_lines = [f"D{i + 1}: {name}" for i, name in enumerate(domains)]
    key = "\n".join(line for entry in key_lines for line in textwrap.wrap(entry, 70)) or ""
    height = 1.2 + 0.34 * max(1, len(studies)) + 0.17 * (key.count("\n") + 1 if key else 0)
    fig, ax = new_axes(ax, (max(6.4, 2.8 + 0.42 * len(columns) + 1.9), height),
                    layout="constrained")
    for row, s in enumerate(studies):
        judged = {d.name: d.judgement for d in s.risk_of_bias.domains}
        for col, name in enumerate([*domains, None]):
            j = s.risk_of_bias.overall if name is None else judged.get(name)
            if j is None:
                continue
            colour, symbol, _ = ROB_STYLE[j]
            ax.scatter([col], [row], s=220, color=colour, edgecolors="#333333", linewidths=0.5,
                       zorder=3)
            if symbol:
                ax.annotate(symbol, (col, row), ha="center", va="center_baseline", fontsize=9,
                            fontweight="bold", color="#000000" if j != "high" else "#ffffff",
                            zorder=4)
    ax.set_xticks(range(len(columns)), columns, fontsize=8)
    ax.set_yticks(range(len(studies)),
                  [_wrap(labels.get(s.id, s.short_title), 36) for s in studies], fontsize=8)
    ax.set_xlim(-0.6, len(columns) - 0.4)
    ax.set_ylim(len(studies) - 0.4, -0.6)
    ax.xaxis.tick_top()
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.axvline(len(columns) - 1.5, color="#bbbbbb", linewidth=0.8)
    handles = [Line2D([], [], marker="o", linestyle="", markersize=8, markerfacecolor=c,
                      markeredgecolor="#333333", label=f"{sym}  {label}" if sym else label)
               for c, sym, label in ROB_STYLE.values()]
    ax.legend(handles=handles, title="Judgement", loc="upper left", bbox_to_anchor=(1.01, 1.0),
              fontsize=8, title_fontsize=8, frameon=False)
    if key:
        ax.set_xlabel(key, fontsize=8, loc="left", labelpad=8)
    return fig


__all__ += ["evidence_map", "risk_of_bias_plot"]
