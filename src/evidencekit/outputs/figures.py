"""Figures of effects: forest and funnel plots (meta-analysis) and reported-effects plots.

matplotlib is imported inside each function, so importing evidencekit stays cheap and headless
use needs no display. Every function returns the matplotlib Figure and accepts an optional ``ax``.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from ..vocab import RATIO_MEASURES
from ..stats.pooling import PoolResult

__all__ = ["forest_plot", "funnel_plot", "favours_line", "reported_effects_plot"]


def new_axes(ax, figsize, layout: str | None = None):
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
    fig, ax = new_axes(ax, (7.5, 1.6 + 0.32 * (k + 3)))
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


def renderer_of(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = fig.canvas if hasattr(fig.canvas, "get_renderer") else FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def wrap_to_width(text_artist, width_px: float, renderer) -> None:
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
        renderer = renderer_of(fig)
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
        renderer = renderer_of(fig)
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
    renderer = renderer_of(fig)
    for text in [*fig.texts, ax.title]:
        if text.get_text():
            wrap_to_width(text, fig.bbox.width - 2 * pad, renderer)


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
    fig, ax = new_axes(ax, (5.5, 4.5))
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
        ax.axvline(1.0 if measure in RATIO_MEASURES else 0.0, color="0.5", lw=0.8, ls="--")
        if measure in RATIO_MEASURES:
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
                               ratio=measure in RATIO_MEASURES)
        # The favours line sits right under the axis, where a reader looks for the direction.
        ax.set_xlabel(f"{favours}\n{label}" if favours else label, fontsize=9)
        ax.tick_params(axis="x", labelsize=9)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    fig.suptitle(heading, fontsize=10)
    # The value column right of each panel is outside the axes: leave room for it.
    fig.get_layout_engine().set(rect=(0, 0, 0.84, 1))
    for ax, (measure, _) in zip(axes, groups):
        _thin_x_ticks(fig, ax, measure in RATIO_MEASURES)
    return fig


