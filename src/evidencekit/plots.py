"""Figures: forest and funnel plots (meta-analysis), risk-of-bias traffic light, evidence map.

matplotlib is imported inside each function, so importing evidencekit stays cheap and headless
use needs no display. Every function returns the matplotlib Figure and accepts an optional ``ax``.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from .stats.effects import RATIO_MEASURES
from .stats.pooling import PoolResult

__all__ = ["forest_plot", "funnel_plot"]


def _axes(ax, figsize, layout: str | None = None):
    """The caller's axes and their figure, or a new Figure of ``figsize`` with one axes.

    A bare Figure (not pyplot) keeps no global state and needs no display or GUI backend, so the
    plots work in a headless build and never leak figures between calls.
    """
    if ax is not None:
        return ax.figure, ax
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout=layout)
    return fig, fig.add_subplot(1, 1, 1)


def _ratio(result: PoolResult) -> bool:
    return result.measure.upper() in RATIO_MEASURES


def forest_plot(result: PoolResult, *, ax: Any = None, title: str | None = None,
                xlabel: str | None = None, labels: list[str] | None = None,
                show_prediction: bool = True,
                favours: tuple[str, str] | None = None) -> Any:
    """Forest plot of a pooled analysis.

    One row per study (point estimate, marker area proportional to its weight, CI), the pooled
    estimate as a diamond spanning its CI, the prediction interval as a bar under it, and a caption
    with the model, tau², I², Q and its p-value. Ratio measures (RR, OR, ROM) are drawn on a log
    axis labelled in back-transformed units, with the line of no effect at 1.

    Parameters
    ----------
    result : PoolResult
        From :func:`evidencekit.stats.pooling.pool`.
    ax : matplotlib Axes, optional
        Draw here; otherwise a new Figure is made.
    title, xlabel : str, optional
    labels : list of str, optional
        Study labels (default: ``result.labels``).
    show_prediction : bool
        Draw the prediction interval (random-effects models).
    favours : (str, str), optional
        What the left and right of the line of no effect favour, e.g. ``("favours exercise",
        "favours usual care")``: written under the axis with arrows.

    Returns
    -------
    matplotlib.figure.Figure
    """
    k = result.k
    fig, ax = _axes(ax, (7.5, 1.6 + 0.32 * (k + 3)))
    ratio = _ratio(result)
    tf = np.exp if ratio else (lambda x: x)
    z = stats.norm.isf((1 - result.level / 100) / 2)
    yi, se = np.asarray(result.yi), np.sqrt(np.asarray(result.vi))
    lo, hi = yi - z * se, yi + z * se
    rows = np.arange(k, 0, -1) + 2.0  # studies from the top; pooled rows at 1 and 0
    names = list(labels) if labels is not None else list(result.labels)

    ax.hlines(rows, tf(lo), tf(hi), color="black", lw=1)
    sizes = 20 + 180 * np.asarray(result.weight) / max(float(np.max(result.weight)), 1e-12)
    ax.scatter(tf(yi), rows, s=sizes, marker="s", color="0.25", zorder=3)

    pooled_y = 1.0
    d_x = [result.ci_low, result.estimate, result.ci_high, result.estimate]
    d_y = [pooled_y, pooled_y + 0.3, pooled_y, pooled_y - 0.3]
    ax.fill(tf(np.array(d_x)), d_y, color="tab:blue", zorder=3)
    if show_prediction and result.method != "FE" and math.isfinite(result.pi_low):
        ax.hlines(0.2, tf(result.pi_low), tf(result.pi_high), color="tab:blue", lw=2.5)
        ax.text(1.02, 0.2, "prediction interval", transform=ax.get_yaxis_transform(),
                va="center", fontsize=8)
    ax.axvline(1.0 if ratio else 0.0, color="0.5", lw=0.8, ls="--")
    if ratio:
        ax.set_xscale("log")
        from matplotlib.ticker import LogLocator, ScalarFormatter

        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(_null_formatter())

    ytick_labels = [f"{n}  ({w:.1f}%)" for n, w in zip(names, result.weight)]
    model = "common effect" if result.method == "FE" else f"random effects, {result.method}"
    ax.set_yticks(list(rows) + [pooled_y],
                  ytick_labels + [f"Pooled ({model})"])
    ax.set_ylim(-0.5, k + 3)
    for y, l_, u_, e_ in zip(rows, lo, hi, yi):
        ax.text(1.02, y, f"{tf(e_):.2f} [{tf(l_):.2f}, {tf(u_):.2f}]",
                transform=ax.get_yaxis_transform(), va="center", fontsize=8)
    ax.text(1.02, pooled_y, f"{tf(result.estimate):.2f} [{tf(result.ci_low):.2f}, "
            f"{tf(result.ci_high):.2f}]", transform=ax.get_yaxis_transform(), va="center",
            fontsize=8, fontweight="bold")
    label = xlabel or (f"{result.measure} (log scale)" if ratio else result.measure)
    if favours:
        label = f"\u2190 {favours[0]}        {favours[1]} \u2192\n{label}"
    ax.set_xlabel(label)
    if title:
        ax.set_title(title)
    ci_name = "HKSJ" if result.ci_method == "hksj" else "Wald"
    if result.method == "FE":
        het = (f"Common-effect model, {ci_name} CI. Q = {result.q:.2f} (df = {k - 1}), "
               f"p = {_p(result.q_p)}, I² = {_num(result.i2, 1)}%")
    else:
        het = (f"Random effects ({result.method}), {ci_name} CI. tau² = {_num(result.tau2, 3)}, "
               f"I² = {_num(result.i2, 1)}%, Q = {result.q:.2f} (df = {k - 1}), "
               f"p = {_p(result.q_p)}")
    if ax.get_subplotspec() is not None and len(fig.axes) == 1:
        fig.text(0.02, 0.02, het, fontsize=8, va="bottom", ha="left")
    else:  # sharing a figure: keep the caption with its own axes
        ax.annotate(het, xy=(0, 0), xycoords="axes fraction", xytext=(0, -34),
                    textcoords="offset points", fontsize=8, va="top")
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="y", length=0)
    if len(fig.axes) == 1:
        fig.subplots_adjust(left=0.32, right=0.72, bottom=0.12 + 0.9 / (k + 6))
        _fit_forest(fig, ax, ratio)
    return fig


def _renderer(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = fig.canvas if hasattr(fig.canvas, "get_renderer") else FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def _wrap_to_width(text_artist, width_px: float, renderer) -> None:
    """Re-wrap a text artist's words until its box is no wider than ``width_px``."""
    import textwrap

    words = " ".join(text_artist.get_text().split())
    chars = len(words)
    while chars > 10 and text_artist.get_window_extent(renderer).width > width_px:
        chars = int(chars * 0.85)
        text_artist.set_text("\n".join(textwrap.wrap(words, chars)))


def _thin_x_ticks(fig, ax, ratio: bool) -> None:
    """Fewer x ticks until neighbouring tick labels keep a gap (measured after drawing)."""
    from matplotlib.ticker import LogLocator, MaxNLocator

    for nbins in (None, 6, 5, 4, 3, 2):
        if nbins is not None:
            if ratio:
                ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0,) if nbins <= 4
                                                      else (1.0, 3.0)))
            else:
                ax.xaxis.set_major_locator(MaxNLocator(nbins=nbins))
        renderer = _renderer(fig)
        boxes = [t.get_window_extent(renderer) for t in ax.get_xticklabels()
                 if t.get_text() and t.get_visible()]
        lo, hi = ax.bbox.x0 - 1, ax.bbox.x1 + 1
        boxes = sorted((b for b in boxes if lo <= (b.x0 + b.x1) / 2 <= hi), key=lambda b: b.x0)
        if all(a.x1 + 4 <= b.x0 for a, b in zip(boxes, boxes[1:])):
            return


def _fit_forest(fig, ax, ratio: bool) -> None:
    """Margins from the drawn text, so no label is clipped whatever its length or the number of rows.

    The study labels set the left margin and the estimate column the right one (measured after
    drawing, in pixels); the figure widens when both leave the plot too little room. The x tick
    labels are thinned until they do not touch, and the caption and title wrap to the width.
    """
    pad = 8.0  # pixels between a label and the figure's edge
    for _ in range(3):
        renderer = _renderer(fig)
        fig_w = fig.bbox.width
        left_px = max((t.get_window_extent(renderer).width for t in ax.get_yticklabels()
                       if t.get_text()), default=0.0) + pad + 6
        right_px = max((t.get_window_extent(renderer).width for t in ax.texts),
                       default=0.0) + pad + 0.02 * ax.bbox.width + 4
        plot_px = max(fig_w - left_px - right_px, 0.0)
        if plot_px < 0.35 * fig_w:  # widen: the plot keeps at least 35% of the figure
            need = (left_px + right_px) / 0.6
            fig.set_size_inches(need / fig.dpi, fig.get_size_inches()[1])
            fig_w = fig.bbox.width
        fig.subplots_adjust(left=left_px / fig_w, right=1 - right_px / fig_w)
    _thin_x_ticks(fig, ax, ratio)
    renderer = _renderer(fig)
    for text in [*fig.texts, ax.title]:
        if text.get_text():
            _wrap_to_width(text, fig.bbox.width - 2 * pad, renderer)


def _null_formatter():
    from matplotlib.ticker import NullFormatter

    return NullFormatter()


def _num(x: float, d: int) -> str:
    return "NA" if not math.isfinite(x) else f"{x:.{d}f}"


def _p(p: float) -> str:
    if not math.isfinite(p):
        return "NA"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def funnel_plot(result: PoolResult, *, ax: Any = None, title: str | None = None,
                level: float = 95.0) -> Any:
    """Funnel plot: effect sizes against their standard errors (inverted axis).

    Draws the studies, the pooled estimate and the pseudo confidence region
    estimate ± z·se (as metafor's ``funnel()``). Ratio measures are labelled on the log scale.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = _axes(ax, (5.5, 4.5))
    yi = np.asarray(result.yi)
    se = np.sqrt(np.asarray(result.vi))
    z = stats.norm.isf((1 - level / 100) / 2)
    top = float(se.max()) * 1.05 if se.size else 1.0
    grid = np.linspace(0, top, 50)
    est = result.estimate
    ax.fill_betweenx(grid, est - z * grid, est + z * grid, color="0.92", zorder=0)
    ax.plot(est - z * grid, grid, color="0.6", lw=0.8, ls="--")
    ax.plot(est + z * grid, grid, color="0.6", lw=0.8, ls="--")
    ax.axvline(est, color="tab:blue", lw=1)
    ax.scatter(yi, se, color="black", s=18, zorder=3)
    ax.set_ylim(top, 0)
    ax.set_ylabel("standard error")
    ax.set_xlabel(f"{result.measure} (log scale)" if _ratio(result) else result.measure)
    ax.set_title(title or f"Funnel plot ({level:g}% pseudo confidence region)")
    return fig


# ---------------------------------------------------------------------------------------------
# evidence map and risk-of-bias traffic light (patient-material figures; used by render.build)

#: Designs in the order of the evidence map's columns: syntheses, then comparisons from strongest to
#: weakest, then designs that cannot show an effect in patients.
def _map_designs() -> tuple[str, ...]:
    # every design a record may have (records.Design), reviews first, so that no study a review
    # holds lacks a column in the evidence map
    from typing import get_args

    from .evidence.records import Design

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
#: Reported measures drawn on a log axis with the line of no effect at 1 (hazard ratios are
#: reported by papers though effects.py never computes them).
LOG_SCALE_MEASURES = RATIO_MEASURES | {"HR"}


def favours_line(better: str | None, intervention: str | None, comparator: str = "comparator",
                 *, ratio: bool = False) -> str | None:
    """``"← favours <intervention>     favours comparator →"`` for an axis, or None.

    Which side favours the intervention follows the outcome's better direction: with "lower is
    better" an estimate below the line of no effect (0, or 1 for ratios) favours it. Without a
    known direction nothing is written: a guessed side would mislead.
    """
    if not intervention or better not in ("lower", "higher"):
        return None
    left, right = (intervention, comparator) if better == "lower" else (comparator, intervention)
    return f"\u2190 favours {left}    favours {right} \u2192"


def _wrap_label(text: str, width: int = 30) -> str:
    import textwrap

    return "\n".join(line for part in str(text).split("\n")
                     for line in (textwrap.wrap(part, width) or [""]))


def reported_effects_plot(rows, *, title: str,
                          subtitle: str = "Reported effects, as printed in each source (not pooled)",
                          intervention: str | None = None):
    """Forest-style plot of reported estimates with their CIs, exactly as printed; nothing pooled.

    Parameters
    ----------
    rows
        Mappings with ``label``, ``estimate``, ``ci_low``, ``ci_high`` and ``measure``; optional
        ``outcome`` (estimates share a panel only with the same measure and outcome), ``level``
        (CI level, default 0.95), ``better`` (``"lower"``/``"higher"``, named in the axis label),
        ``highlight`` (drawn in blue, e.g. the estimate a claim rests on) and ``threshold``
        (``{"value": t, "label": ...}``: the smallest effect that matters; when a panel's rows
        share one, the band from -t to t is shaded and named, so "too small to matter" is visible).
    title, subtitle
        Figure title lines (wrapped to the figure's width).
    intervention
        The treatment's name; with a known better direction each panel says under its axis which
        side favours it and which the comparator.

    Returns
    -------
    matplotlib.figure.Figure or None
        None when there is no row.

    Notes
    -----
    There is deliberately no pooled diamond. A question's estimates are mostly reviews' pooled
    results whose trials overlap, or one trial at several time points; pooling them would count
    the same patients more than once (Cochrane Handbook 23.3.4 on unit-of-analysis errors). Ratio
    measures use a log axis with the line of no effect at 1; differences use 0.
    """
    import textwrap

    from matplotlib.figure import Figure

    rows = list(rows)
    if not rows:
        return None
    groups: dict[tuple[str, str], list] = {}
    for row in rows:
        groups.setdefault((row["measure"], row.get("outcome") or ""), []).append(row)
    # Labels wrap, so a row is as tall as its longest label; 5.6 in wide with 9 pt text stays
    # legible when a phone scales the 840 px image to its width (about 10 px type at 375 px).
    lines = [max(1, _wrap_label(r["label"], 26).count("\n") + 1) for r in rows]
    per_group = {}
    for (key, items) in groups.items():
        per_group[key] = sum(max(1.0, 0.55 * lines[rows.index(r)]) for r in items)
    heights = [per_group[key] + 1.8 for key in groups]
    import textwrap as _tw

    heading = "\n".join(_tw.wrap(title, 60) + (_tw.wrap(subtitle, 66) if subtitle else []))
    fig = Figure(figsize=(5.6, 0.5 + 0.2 * heading.count("\n") + 0.46 * sum(heights)),
                 layout="constrained")
    axes = fig.subplots(len(groups), 1, squeeze=False,
                        gridspec_kw={"height_ratios": heights})[:, 0]
    for ax, ((measure, outcome), items) in zip(axes, groups.items()):
        ys = list(range(len(items), 0, -1))
        for y, r in zip(ys, items):
            colour = "tab:blue" if r.get("highlight") else "0.2"
            ax.hlines(y, r["ci_low"], r["ci_high"], color=colour, lw=1.2)
            ax.scatter([r["estimate"]], [y], marker="s", s=40, color=colour, zorder=3)
            ax.annotate(f"{r['estimate']:g}\n[{r['ci_low']:g}, {r['ci_high']:g}]", (1.01, y),
                        xycoords=("axes fraction", "data"), va="center", fontsize=9,
                        annotation_clip=False)
        ax.axvline(1.0 if measure in LOG_SCALE_MEASURES else 0.0, color="0.5", lw=0.8, ls="--")
        if measure in LOG_SCALE_MEASURES:
            ax.set_xscale("log")
        thresholds = {(t["value"], t["label"]) for t in (r.get("threshold") for r in items) if t}
        if len(thresholds) == 1:  # one shared threshold: shade effects too small to matter
            value, label = thresholds.pop()
            # wrapped: a legend wider than the figure collapses the whole layout
            ax.axvspan(-value, value, color="0.9", zorder=0, label="\n".join(textwrap.wrap(
                f"smaller than the smallest effect that matters: {label}", 60)))
            ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), fontsize=8, frameon=False)
        ax.set_yticks(ys, [_wrap_label(r["label"], 26) for r in items], fontsize=9)
        ax.set_ylim(0.4, len(items) + 0.6)
        better = {r.get("better") for r in items}
        hint = (" (lower is better)" if better == {"lower"} else
                " (higher is better)" if better == {"higher"} else "")
        levels = {r.get("level", 0.95) for r in items}
        ci = f"{levels.pop() * 100:g}% CI" if len(levels) == 1 else "CI"
        what = f", {textwrap.shorten(outcome, 60)}" if outcome else ""
        label = "\n".join(textwrap.wrap(f"{measure}{what}{hint}; {ci} as reported", 60))
        favours = favours_line(better.pop() if len(better) == 1 else None, intervention,
                               ratio=measure in LOG_SCALE_MEASURES)
        # The favours line sits right under the axis, where a reader looks for the direction.
        ax.set_xlabel(f"{favours}\n{label}" if favours else label, fontsize=9)
        ax.tick_params(axis="x", labelsize=9)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    fig.suptitle(heading, fontsize=10)
    # The value column right of each panel is outside the axes: leave room for it.
    fig.get_layout_engine().set(rect=(0, 0, 0.84, 1))
    for ax, (measure, _) in zip(axes, groups):
        _thin_x_ticks(fig, ax, measure in LOG_SCALE_MEASURES)
    return fig


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
    fig, ax = _axes(ax, (1.4 + 1.25 * len(designs) + 3.2, 0.9 + 0.75 * max(1, len(questions))),
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
                          label=lv) for lv in ("high", "moderate", "low", "very low")]
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
    _wrap_to_width(title, 0.95 * fig.bbox.width - 12, _renderer(fig))
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

    library_refs = getattr(studies, "references", None)
    if hasattr(studies, "studies"):
        studies = studies.studies
    if hasattr(studies, "values"):
        studies = studies.values()
    studies = list(studies)
    labels = dict(labels or {})
    if not labels and library_refs:
        labels = {s.id: library_refs[s.id].short_citation() for s in studies
                  if s.id in library_refs and hasattr(library_refs[s.id], "short_citation")}
    domains = []
    for s in studies:
        for d in s.risk_of_bias.domains:
            if d.name not in domains:
                domains.append(d.name)
    columns = [f"D{i + 1}" for i in range(len(domains))] + ["Overall"]
    key_lines = [f"D{i + 1}: {name}" for i, name in enumerate(domains)]
    key = "\n".join(line for entry in key_lines for line in textwrap.wrap(entry, 70)) or ""
    height = 1.2 + 0.34 * max(1, len(studies)) + 0.17 * (key.count("\n") + 1 if key else 0)
    fig, ax = _axes(ax, (max(6.4, 2.8 + 0.42 * len(columns) + 1.9), height),
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
