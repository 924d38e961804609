"""Egger's test and trim-and-fill against metafor (regtest(model="lm", predictor="sei"),
trimfill() on an FE model), read from tests/data/metafor-reference.json."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from evidencekit.stats.bias import egger_test, funnel_data, trim_and_fill
from evidencekit.errors import InputError

REFERENCE = json.loads((Path(__file__).parent / "data" / "metafor-reference.json").read_text())
CASES = {c["name"]: c for c in REFERENCE["cases"]}

# Egger's test is a closed-form weighted least-squares fit: floating-point rounding only.
CLOSED_FORM_RTOL = 1e-10
# trim-and-fill iterates (k0 until stable); its fits are closed-form common-effect ones, but we
# hold it to the iterative tolerance the brief sets for it.
ITERATIVE_RTOL = 1e-6

EGGER_KEYS = {"z_or_t": "statistic", "p": "p", "df": "df"}
TRIMFILL_KEYS = {"k0": "k0", "side": "side", "estimate": "estimate", "se": "se"}


def data(name):
    return np.array(CASES[name]["yi"]), np.array(CASES[name]["vi"])


@pytest.mark.parametrize("name", sorted(CASES))
def test_egger_matches_metafor(name):
    ref = CASES[name]["results"]["egger_regtest_lm_sei"]
    assert set(ref) == set(EGGER_KEYS)
    res = egger_test(*data(name))
    for key, attr in EGGER_KEYS.items():
        np.testing.assert_allclose(getattr(res, attr), ref[key], rtol=CLOSED_FORM_RTOL,
                                   err_msg=f"{name} {key}")


@pytest.mark.parametrize("name", sorted(CASES))
def test_trimfill_matches_metafor(name):
    ref = CASES[name]["results"]["trimfill_FE"]
    assert set(ref) == set(TRIMFILL_KEYS)
    res = trim_and_fill(*data(name))
    assert res.k0 == ref["k0"] and res.side == ref["side"]
    for key in ("estimate", "se"):
        np.testing.assert_allclose(getattr(res, key), ref[key], rtol=ITERATIVE_RTOL,
                                   err_msg=f"{name} {key}")
    assert len(res.filled_yi) == res.k0
    assert "imputed" in res.summary()


def test_egger_equals_statsmodels_wls():
    import statsmodels.api as sm
    y, v = data("bcg_RR")
    fit = sm.WLS(y, sm.add_constant(np.sqrt(v)), weights=1 / v).fit()
    res = egger_test(y, v)
    assert res.statistic == pytest.approx(fit.tvalues[1], rel=1e-10)
    assert res.limit_estimate == pytest.approx(fit.params[0], rel=1e-10)


def test_bias_bad_input():
    with pytest.raises(InputError, match="at least 3"):
        egger_test([0.1, 0.2], [0.1, 0.1])
    with pytest.raises(InputError):
        trim_and_fill([0.1, 0.2], [0.1, -0.1])
    with pytest.raises(InputError, match="side"):
        trim_and_fill([0.1, 0.2, 0.3], [0.1, 0.1, 0.1], side="up")


def test_funnel_data():
    y, v = data("bcg_RR")
    studies, region = funnel_data(y, v)
    assert list(studies.columns) == ["yi", "se"] and len(studies) == 13
    assert region["se"].iloc[0] == 0 and (region["high"] >= region["low"]).all()


def test_trimfill_summary_names_the_level_it_was_given():
    # The summary used to print "95% CI" whatever `level` was.
    yi, vi = [0.1, 0.3, 0.5, 0.9, 1.2], [0.01, 0.02, 0.05, 0.1, 0.2]
    res90 = trim_and_fill(yi, vi, level=90)
    assert "90% CI" in res90.summary() and "95%" not in res90.summary()
    assert "95% CI" in trim_and_fill(yi, vi).summary()
    frame = res90.to_frame()
    assert len(frame) == 1 and frame["level"].iloc[0] == 90 and frame["k0"].iloc[0] == res90.k0
    assert frame["ci_low"].iloc[0] == res90.ci_low
    with pytest.raises(ValueError):
        res90.filled_yi[...] = 0  # frozen result, read-only arrays


# --- metafor's defaults on the fitted model: regtest(fit) and trimfill(fit) ---------------------

from _metafor_models import close, section  # noqa: E402

EGGER_RMA = section("egger")
TRIMFILL_FIT = section("trimfill")


@pytest.mark.parametrize("name", sorted(EGGER_RMA))
def test_egger_rma_matches_regtest_default(name):
    case = EGGER_RMA[name]
    assert case["model"] == "rma" and case["predictor"] == "sei"
    res = egger_test(case["yi"], case["vi"], model="rma", method=case["method"])
    close(res.statistic, case["z"])
    close(res.p, case["p"])
    close(res.limit_estimate, case["limit_estimate"])
    assert res.model == "rma" and res.df is None and case["method"] in res.model_description


@pytest.mark.parametrize("name", sorted(TRIMFILL_FIT))
def test_trim_and_fill_on_the_fitted_model_matches_metafor(name):
    case = TRIMFILL_FIT[name]
    res = trim_and_fill(case["yi"], case["vi"], method=case["method"])
    assert (res.k0, res.side) == (case["k0"], case["side"])
    for key in ("estimate", "se", "ci_low", "ci_high", "tau2"):
        close(getattr(res, key), case[key])
    assert res.method == case["method"]


def test_bias_grids_are_complete_and_show_the_models_disagree():
    assert {c["method"] for c in TRIMFILL_FIT.values()} == {"REML", "DL", "FE"}
    assert len(EGGER_RMA) == len(TRIMFILL_FIT) >= 12
    # bcg: the random-effects fit imputes 1 study, the common-effect fit 4
    assert TRIMFILL_FIT["bcg_RR_REML"]["k0"] != TRIMFILL_FIT["bcg_RR_FE"]["k0"]


def test_unknown_egger_model_is_an_input_error():
    with pytest.raises(InputError, match="unknown Egger model"):
        egger_test([0.1, 0.2, 0.3], [0.1, 0.2, 0.3], model="glm")
