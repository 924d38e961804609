"""Forest and funnel plots: they draw, return a Figure, accept an ax, back-transform ratios."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from evidencekit.outputs.figures import forest_plot, funnel_plot  # noqa: E402
from evidencekit.stats.pooling import pool  # noqa: E402

REFERENCE = json.loads((Path(__file__).parent / "data" / "metafor-reference.json").read_text())
CASES = {c["name"]: c for c in REFERENCE["cases"]}


def fit(name, **kw):
    c = CASES[name]
    return pool(c["yi"], c["vi"], measure=c["measure"], **kw)


def test_forest_ratio_uses_back_transformed_log_axis(tmp_path):
    from matplotlib.figure import Figure
    fig = forest_plot(fit("bcg_RR"), title="BCG")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == 14 and labels[-1].startswith("Pooled (random effects, REML)")
    texts = " ".join(t.get_text() for t in ax.texts + fig.texts)
    assert "I²" in texts and "prediction interval" in texts
    fig.savefig(tmp_path / "forest.png")


def test_forest_difference_on_given_ax_and_fe():
    from matplotlib.figure import Figure
    fig = Figure()
    ax = fig.add_subplot()
    out = forest_plot(fit("normand1999_MD", method="FE"), ax=ax)
    assert out is fig and ax.get_xscale() == "linear"
    assert any("Common-effect" in t.get_text() for t in ax.texts + fig.texts)


def test_funnel(tmp_path):
    fig = funnel_plot(fit("normand1999_SMD"))
    ax = fig.axes[0]
    lo, hi = ax.get_ylim()
    assert lo > hi  # inverted: precise studies on top
    fig.savefig(tmp_path / "funnel.png")


def test_matplotlib_is_not_imported_by_pooling():
    import subprocess
    import sys
    code = ("import sys, evidencekit.stats.pooling, evidencekit.stats.batch, evidencekit.stats.effects, evidencekit.stats.bias, "
            "evidencekit.outputs.figures; print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_k1_forest_draws():
    fig = forest_plot(pool([0.2], [0.01], measure="SMD"))
    assert np.isfinite(fig.axes[0].get_xlim()).all()


def test_reported_effects_plot_panels_by_measure_and_outcome_and_never_pools():
    from evidencekit.outputs.figures import reported_effects_plot

    rows = [
        {"label": "A, 6 weeks", "estimate": -0.3, "ci_low": -5.4, "ci_high": 4.7, "measure": "MD",
         "outcome": "NDI, 0-100", "better": "lower"},
        {"label": "A, 6 months", "estimate": -4.4, "ci_low": -9.6, "ci_high": -0.74,
         "measure": "MD", "outcome": "NDI, 0-100", "better": "lower", "highlight": True},
        {"label": "B", "estimate": 1.89, "ci_low": 0.38, "ci_high": 9.39, "measure": "RR",
         "outcome": "adverse events"},
    ]
    fig = reported_effects_plot(rows, title="Whiplash")
    md_ax, rr_ax = fig.axes
    assert "lower is better" in md_ax.get_xlabel() and "95% CI as reported" in md_ax.get_xlabel()
    assert rr_ax.get_xscale() == "log"  # ratios: log axis, no-effect line at 1
    assert [line.get_xdata()[0] for line in rr_ax.lines] == [1.0]
    # one marker per reported row and no pooled diamond (no polygon patches)
    from matplotlib.collections import PathCollection

    assert sum(isinstance(c, PathCollection) for c in md_ax.collections) == 2
    assert not any(p.__class__.__name__ == "Polygon" for ax in fig.axes for p in ax.patches)
    assert reported_effects_plot([], title="none") is None


def test_reported_effects_plot_shades_a_shared_important_effect_threshold():
    from evidencekit.outputs.figures import reported_effects_plot

    band = {"value": 5.0, "label": "5 points on the 0-100 NDI (our judgement)"}
    rows = [{"label": f"A, {t}", "estimate": e, "ci_low": e - 5, "ci_high": e + 5, "measure": "MD",
             "outcome": "NDI, 0-100", "threshold": band} for t, e in (("6 wk", -0.3), ("6 mo", -4.4))]
    (ax,) = reported_effects_plot(rows, title="t").axes
    spans = [p for p in ax.patches if p.get_x() == -5.0 and p.get_width() == 10.0]
    assert len(spans) == 1
    assert "our judgement" in ax.get_legend().get_texts()[0].get_text()


# ---------------------------------------------------------------------------------------------
# figures for people: labels, favours, nothing clipped at any review size


def _texts_outside(fig):
    """Visible text artists whose box reaches past the figure's edges (in pixels, after drawing)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    canvas = FigureCanvasAgg(fig)  # what savefig("x.png") draws with
    canvas.draw()  # layout and text sizes are final after this
    renderer = canvas.get_renderer()
    bounds = fig.bbox
    out = []
    for artist in fig.findobj(Text):
        if not artist.get_visible() or not artist.get_text().strip():
            continue
        box = artist.get_window_extent(renderer)
        if (box.x0 < bounds.x0 - 1 or box.y0 < bounds.y0 - 1 or box.x1 > bounds.x1 + 1
                or box.y1 > bounds.y1 + 1):
            out.append(artist.get_text()[:60])
    return out


def _synthetic_rows(k):
    rng = np.random.default_rng(k)
    rows = []
    for i in range(k):
        e = float(rng.normal(-0.3, 0.4))
        rows.append({"label": f"Author{i} et al. {1990 + i % 35}, 12 weeks\ntreatment vs usual care "
                              f"with a long description of the comparison",
                     "estimate": round(e, 2), "ci_low": round(e - 0.5, 2),
                     "ci_high": round(e + 0.5, 2), "measure": "SMD", "outcome": "function",
                     "better": "higher",
                     "threshold": {"value": 0.5, "label": "SMD 0.5, a long explanation of "
                                   "where this threshold comes from (our judgement)"}})
    return rows


def _synthetic_studies(k):
    from types import SimpleNamespace

    names = ["Randomisation process", "Deviations from intended interventions",
             "Missing outcome data", "Measurement of the outcome",
             "Selection of the reported result"]
    judgements = ["low", "some-concerns", "high", "not-assessable"]
    return [SimpleNamespace(
        id=f"s{i}", short_title=f"A study with a long, descriptive short title number {i}",
        risk_of_bias=SimpleNamespace(
            overall=judgements[i % 4],
            domains=tuple(SimpleNamespace(name=n, judgement=judgements[(i + j) % 4])
                          for j, n in enumerate(names)))) for i in range(k)]


@pytest.mark.parametrize("k", [2, 40])
def test_reported_effects_plot_clips_nothing_and_says_which_side_favours_what(k):
    from evidencekit.outputs.figures import reported_effects_plot

    import warnings

    fig = reported_effects_plot(_synthetic_rows(k), title="A long question title " * 4,
                                intervention="yoga")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "constrained_layout not applied": the layout collapsed
        assert _texts_outside(fig) == []
    (ax,) = fig.axes
    # higher is better: the intervention's side is the right one
    assert "favours comparator    favours yoga" in ax.get_xlabel()


@pytest.mark.parametrize("k", [2, 40])
def test_risk_of_bias_plot_clips_nothing_and_headers_do_not_run_together(k):
    from evidencekit.outputs.evidence_figures import risk_of_bias_plot

    fig = risk_of_bias_plot(_synthetic_studies(k), labels={"s0": "Smith et al. 2020"})
    assert _texts_outside(fig) == []
    ax = fig.axes[0]
    headers = [t.get_text() for t in ax.get_xticklabels()]
    assert headers == ["D1", "D2", "D3", "D4", "D5", "Overall"]
    assert "D2: Deviations from intended interventions" in ax.get_xlabel()
    assert ax.get_yticklabels()[0].get_text() == "Smith et al. 2020"
    # the short column headers do not overlap each other
    boxes = [t.get_window_extent() for t in ax.get_xticklabels()]
    assert all(a.x1 <= b.x0 for a, b in zip(boxes, boxes[1:]))


@pytest.mark.parametrize("k", [2, 40])
def test_forest_plot_clips_nothing_at_any_size(k):
    rng = np.random.default_rng(1)
    res = pool(rng.normal(0.2, 0.3, k), rng.uniform(0.01, 0.1, k), measure="SMD")
    fig = forest_plot(res, labels=[f"Author{i} et al. {2000 + i % 25}" for i in range(k)],
                      favours=("favours exercise", "favours comparator"))
    assert _texts_outside(fig) == []
    assert "favours exercise" in fig.axes[0].get_xlabel()


def test_favours_line_follows_the_better_direction():
    from evidencekit.outputs.figures import favours_line

    assert favours_line("lower", "cupping").startswith("\u2190 favours cupping")
    assert favours_line("higher", "cupping").endswith("favours cupping \u2192")
    assert favours_line(None, "cupping") is None
    assert favours_line("lower", None) is None


def test_evidence_map_has_a_column_for_every_record_design():
    # a cohort or case-control study (observational reviews) must not crash the build's map
    from typing import get_args

    from evidencekit.outputs.evidence_figures import EVIDENCE_MAP_DESIGNS
    from evidencekit.evidence.records import Design

    assert set(EVIDENCE_MAP_DESIGNS) == set(get_args(Design))


def _tick_boxes_apart(fig, ax):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    boxes = sorted((t.get_window_extent(renderer) for t in ax.get_xticklabels()
                    if t.get_text() and t.get_visible()
                    and ax.bbox.x0 - 1 <= t.get_window_extent(renderer).x0 <= ax.bbox.x1 + 1),
                   key=lambda b: b.x0)
    return all(a.x1 <= b.x0 for a, b in zip(boxes, boxes[1:]))


@pytest.mark.parametrize("k", [1, 2, 13, 50])
def test_forest_plot_with_long_study_labels_clips_nothing(k):
    # The study labels set the margin: a long "author year (place)" label is never cut off, and
    # the x tick labels never run into each other, from 1 study to 50.
    rng = np.random.default_rng(k)
    res = pool(rng.normal(-0.5, 0.6, k), rng.uniform(0.01, 0.6, k), measure="RR")
    labels = [f"Frimodt-Moller, Thomas and Parthasarathy {1950 + i} (Madanapalle, South India)"
              if i % 3 == 0 else f"Author{i} {2000 + i % 25}" for i in range(k)]
    fig = forest_plot(res, labels=labels, title="A long title of a forest plot " * 3,
                      favours=("favours the treatment", "favours the comparator"))
    assert _texts_outside(fig) == []
    assert _tick_boxes_apart(fig, fig.axes[0])


def test_a_two_study_forest_plot_keeps_its_tick_labels_apart():
    res = pool([0.1, 2.4], [0.02, 0.05], measure="SMD")
    fig = forest_plot(res, labels=["Smith 2020", "Jones 2021"])
    assert _texts_outside(fig) == []
    assert _tick_boxes_apart(fig, fig.axes[0])


@pytest.mark.parametrize("designs, n_questions", [(1, 3), (2, 1), (4, 3)])
def test_evidence_map_title_and_labels_lie_within_the_figure(designs, n_questions):
    import warnings

    from types import SimpleNamespace

    from evidencekit.outputs.evidence_figures import EVIDENCE_MAP_DESIGNS, evidence_map

    kinds = list(EVIDENCE_MAP_DESIGNS)[:designs]
    studies = {f"s{i}": SimpleNamespace(id=f"s{i}", design=kinds[i % designs],
                                        population=SimpleNamespace(n=10 * (i + 1)))
               for i in range(6)}
    questions = {f"q{j}": SimpleNamespace(
        id=f"q{j}", title=f"Question {j} with a fairly long title about an outcome",
        evidence=[SimpleNamespace(study=f"s{i}") for i in range(6) if (i + j) % 2 == 0])
        for j in range(n_questions)}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "constrained_layout not applied": the layout collapsed
        fig = evidence_map(SimpleNamespace(questions=questions, studies=studies),
                           certainty={"q0": "low", "q1": "very low"})
        assert _texts_outside(fig) == []
