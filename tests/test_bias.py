"""Egger's test and trim-and-fill against metafor (regtest(model="lm", predictor="sei"),
trimfill() on an FE model), read from tests/data/metafor-reference.json."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from evidencekit.bias import egger_test, funnel_data, trim_and_fill
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
