"""Figures for the notebooks: a bare matplotlib Figure shown as PNG, a question's reported estimates
(labelled by study), and the coverage of pooled-mean intervals."""
from __future__ import annotations

import re

import pandas as pd

from ..grade.study_names import study_name
from .estimates import question_effects

__all__ = ["PNG_OPTIONS", "show", "study_label", "plot_question_effects", "plot_coverage"]


#: PNG options for figures shown in notebooks: a fixed resolution and no "Software" chunk (which
#: names the matplotlib version), so a figure's bytes depend only on what it draws.
PNG_OPTIONS = {"format": "png", "dpi": 100, "metadata": {"Software": None}, "bbox_inches": "tight"}


def show(fig):
    """Display a bare matplotlib Figure in a notebook, as a PNG image.

    evidencekit's plots return bare Figures (no pyplot state). Recent matplotlib loads the inline
    backend lazily, so Jupyter has no display formatter for such a Figure until pyplot draws
    something; this turns the Figure into an ``IPython.display.Image`` explicitly. ``None``
    (nothing to draw) gives ``None``.
    """
    if fig is None:
        return None
    import io

    from IPython.display import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, **PNG_OPTIONS)
    return Image(data=buffer.getvalue(), format="png")

_KEY_RE = re.compile(r"^([a-z][a-z-]*?)(\d{4})([a-z]?)$")


def study_label(record: str, library=None) -> str:
    """A label a person reads: "Sterling et al. 2015, 12 months" for ``sterling2015#ndi-md-12mo``.

    With a library, the author and year come from the study's BibTeX entry and the time point
    from its result; without one, from the citation key's usual ``<surname><year>`` shape.
    """
    study_id, _, result_id = str(record).partition("#")
    who = None
    when = None
    if library is not None:
        study = getattr(library, "studies", {}).get(study_id)
        if study is not None:
            who = study_name(library, study_id)
        if study is not None and result_id:
            try:
                when = study.result(result_id).time_point
            except KeyError:
                when = None
    if who is None:
        match = _KEY_RE.match(study_id)
        who = (f"{match.group(1).replace('-', ' ').title()} {match.group(2)}{match.group(3)}"
               if match else study_id)
    return f"{who}, {when}" if when else who


def plot_question_effects(rating, library=None, intervention: str | None = None):
    """Forest-style plot of a question's reported estimates, not pooled (see
    :func:`evidencekit.outputs.figures.reported_effects_plot`); the estimate the claim rests on is blue.

    Rows are labelled by author and year (:func:`study_label`); pass the library for the
    names and time points as the references and records give them.

    Returns a bare matplotlib Figure (no pyplot state), or None when there is no estimate.
    """
    from ..outputs.figures import reported_effects_plot

    frame = question_effects(rating)
    rows = [{"label": study_label(record, library), "estimate": row.estimate,
             "ci_low": row.ci_low, "ci_high": row.ci_high, "measure": row.measure,
             "highlight": bool(row.main)}
            for record, row in frame.iterrows()]
    title = getattr(rating, "title", None) or rating.question
    return reported_effects_plot(rows, title=f"{title}: reported estimates",
                                 subtitle="blue: the estimate the claim rests on; not pooled",
                                 intervention=intervention)


def plot_coverage(study: pd.DataFrame, level: float = 95.0, ax=None):
    """Coverage against k, one line per interval and tau², with the nominal level marked.

    Returns a bare matplotlib Figure (no pyplot state), as :mod:`evidencekit.outputs.figures` does.
    """
    from matplotlib.figure import Figure

    if ax is None:
        fig = Figure(figsize=(6.4, 4.0), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    styles = {"Wald": dict(marker="o", linestyle="--"), "HKSJ": dict(marker="s", linestyle="-")}
    for (ci, tau2), part in study.groupby(["ci", "tau2"], sort=False):
        part = part.sort_values("k")
        ax.errorbar(part["k"], part["coverage"], yerr=1.96 * part["mc_se"], capsize=3,
                    label=f"{ci}, tau² = {tau2:g}", **styles.get(ci, {}))
    ax.axhline(level, color="0.4", linewidth=1)
    ax.set_xticks(sorted(study["k"].unique()))
    ax.set_xlabel("studies per meta-analysis (k)")
    ax.set_ylabel(f"coverage of the {level:g}% CI (%)")
    ax.set_title(f"Coverage of the pooled-mean interval ({study['method'].iloc[0]} tau²)")
    ax.legend(frameon=False)
    return fig

