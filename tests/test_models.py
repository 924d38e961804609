"""Meta-regression and subgroups against metafor (tests/data/metafor-models.json)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from _metafor_models import arr, case_effects, close, section
from evidencekit.errors import InputError
from evidencekit.stats.models import meta_regression, subgroup_analysis
from evidencekit.stats.engine import MissingDataWarning

REG = section("metareg")
SUB = section("subgroups")


@pytest.mark.parametrize("name", sorted(REG))
def test_meta_regression_matches_rma_with_mods(name):
    case = REG[name]
    yi, vi = case_effects(case)
    mods = {m: arr(case["inputs"][m]) for m in case["moderators"]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingDataWarning)
        res = meta_regression(yi, vi, mods, method=case["method"], ci=case["ci"])
    assert res.k == case["k"]
    assert [c.name for c in res.coefficients] == [c["name"] for c in case["coefficients"]]
    for ours, ref in zip(res.coefficients, case["coefficients"]):
        for key in ("estimate", "se", "ci_low", "ci_high", "z", "p"):
            close(getattr(ours, key), ref[key])
    for key in ("qm", "qm_p", "r2", "tau2", "i2", "h2", "qe", "qe_p"):
        close(getattr(res, key), case[key])


def test_regression_grid_is_complete():
    assert {c["method"] for c in REG.values()} == {"REML", "ML", "DL", "FE"}
    assert any(c["ci"] == "hksj" for c in REG.values())
    assert all(len(c["moderators"]) == 2 for c in REG.values())


def test_dropped_rows_warn_and_bad_designs_are_clear():
    case = REG["bangertdrowns2004_length_imag_REML"]
    yi, vi = case_effects(case)
    mods = {m: arr(case["inputs"][m]) for m in case["moderators"]}
    with pytest.warns(MissingDataWarning, match="2 studies"):
        meta_regression(yi, vi, mods)
    with pytest.raises(InputError, match="collinear"):
        meta_regression([0.1, 0.2, 0.3, 0.5], [0.1] * 4, {"x": [1, 1, 1, 1]})
    with pytest.raises(InputError, match="more than 3"):
        meta_regression([0.1, 0.2, 0.3], [0.1] * 3, {"x": [1, 2, 3], "z": [0, 1, 1]})


@pytest.mark.parametrize("name", sorted(SUB))
def test_subgroups_match_metafor(name):
    case = SUB[name]
    yi, vi = case_effects(case)
    groups = case["inputs"]["alloc" if "alloc" in case["inputs"] else "grade"]
    res = subgroup_analysis(yi, vi, groups, method=case["method"], ci=case["ci"])
    rows = res.rows()
    assert [r["level"] for r in rows] == [str(s["level"]) for s in case["subgroups"]]
    for ours, ref in zip(rows, case["subgroups"]):
        assert ours["k"] == ref["k"]
        for key in ("estimate", "se", "ci_low", "ci_high", "tau2", "i2"):
            close(ours[key], ref[key])
    close(res.q_between, case["q_between"])
    close(res.q_between_p, case["q_between_p"])
    assert res.q_between_df == case["q_between_df"]
    assert "subgroup differences" in res.summary()


def test_subgroup_grid_is_complete():
    assert len(SUB) >= 4
    assert {c["method"] for c in SUB.values()} >= {"REML", "DL"}


def test_subgroups_need_two_levels():
    with pytest.raises(InputError, match="at least 2 subgroups"):
        subgroup_analysis([0.1, 0.2], [0.1, 0.1], ["a", "a"])
    with pytest.warns(MissingDataWarning, match="without a subgroup"):
        res = subgroup_analysis([0.1, 0.2, 0.4], [0.1, 0.1, 0.1], ["a", "", "b"])
    assert set(res.subgroups) == {"a", "b"}
