"""influence() and cumul() against metafor (tests/data/metafor-models.json)."""
from __future__ import annotations

import numpy as np
import pytest

from _metafor_models import arr, close, section
from evidencekit.stats.diagnostics import influence, cumulative
from evidencekit.errors import InputError

INFLUENCE = section("influence")
CUMUL = section("cumul")


@pytest.mark.parametrize("name", sorted(INFLUENCE))
def test_influence_matches_metafor(name):
    case = INFLUENCE[name]
    frame = influence(case["yi"], case["vi"], method=case["method"]).to_frame()
    for ours, theirs in (("rstudent", "rstudent"), ("dffits", "dffits"), ("cook_d", "cook_d"),
                         ("cov_r", "cov_r"), ("qe_del", "qe_del"), ("hat", "hat"),
                         ("weight", "weight"), ("dfbetas", "dfbetas")):
        close(frame[ours], case[theirs], rtol=1e-7)
    if case["method"] != "FE":
        close(frame["tau2_del"], case["tau2_del"], rtol=1e-7)


@pytest.mark.parametrize("name", sorted(CUMUL))
def test_cumulative_matches_metafor(name):
    case = CUMUL[name]
    frame = cumulative(case["yi"], case["vi"], method=case["method"])
    for key in ("estimate", "se", "ci_low", "ci_high", "z", "p", "q"):
        close(frame[key], case[key], rtol=1e-7)
    # from two studies on, the heterogeneity statistics are estimable and equal metafor's
    for key in ("q_p", "i2", "h2") + (("tau2",) if case["method"] != "FE" else ()):
        close(frame[key].iloc[1:], arr(case[key])[1:], rtol=1e-7)
    assert np.isnan(frame["q_p"].iloc[0])  # one study: no test of heterogeneity


def test_grids_are_complete():
    assert {c["method"] for c in INFLUENCE.values()} == {"REML", "DL", "FE"}
    assert len(INFLUENCE) == len(CUMUL) >= 9


def test_cumulative_order_and_bad_input():
    frame = cumulative([0.1, 0.5, 0.3], [0.1, 0.1, 0.1], order=[2001, 1999, 2005],
                       labels=["a", "b", "c"], method="FE")
    assert list(frame.index) == ["b", "a", "c"]
    assert frame["estimate"].iloc[0] == pytest.approx(0.5)
    with pytest.raises(InputError, match="at least 3"):
        influence([0.1, 0.2], [0.1, 0.1])
    with pytest.raises(InputError, match="one value per study"):
        cumulative([0.1, 0.2], [0.1, 0.1], order=[1])


def test_influence_summary_names_the_influential():
    res = influence([0.1, 0.12, 0.09, 0.11, 2.5], [0.01] * 5, method="DL")
    assert res.to_frame()["influential"].iloc[-1]
    assert "influential: 5" in res.summary()
