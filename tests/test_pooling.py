"""pool / pool_many / leave_one_out against R metafor 3.8-1 (tests/data/metafor-reference.json).

Expected values are read from the reference file, never typed in. A completeness test makes sure
every case x method x key in the file is compared, so the grid cannot shrink to what passes.
"""
from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evidencekit.errors import InputError
from evidencekit.stats.batch import pool_many
from evidencekit.stats.engine import MissingDataWarning
from evidencekit.stats.leave_one_out import leave_one_out
from evidencekit.stats.pooling import EXTRA_KEYS, SCALAR_KEYS, TAU2_CI_KEYS, pool
from evidencekit.stats.tau2 import METHODS

REFERENCE = json.loads((Path(__file__).parent / "data" / "metafor-reference.json").read_text())
CASES = {c["name"]: c for c in REFERENCE["cases"]}

# Closed-form estimators (FE, DL, HE, HS, SJ) are the same arithmetic as metafor's; only
# floating-point rounding separates them, so 1e-10 relative leaves ~1000x headroom over what we see.
CLOSED_FORM_RTOL = 1e-10
# Iterative results (REML, ML, PM, EB, Q-profile, leave-one-out): metafor stops at its own
# tolerance (Fisher scoring threshold 1e-5, uniroot tol eps^0.25). We run the same iterations, so
# we agree far closer than 1e-6 in practice, but 1e-6 is what the algorithms promise.
ITERATIVE_RTOL = 1e-6
# A p-value of ~1e-26 carries the relative rounding error of its chi-square tail; absolute floor.
ATOL = 1e-300

CLOSED_FORM = {"FE", "DL", "HE", "HS", "SJ"}
RE_METHODS = [m for m in METHODS if m != "FE"]

# metafor's key -> our attribute
KEYMAP = {"estimate": "estimate", "se": "se", "ci_low": "ci_low", "ci_high": "ci_high", "z": "z",
          "p": "p", "tau2": "tau2", "I2": "i2", "H2": "h2", "Q": "q", "Q_p": "q_p",
          "pi_low": "pi_low", "pi_high": "pi_high"}
HKSJ_KEYMAP = {"se": "se", "ci_low": "ci_low", "ci_high": "ci_high", "t": "z", "df": "df",
               "p": "p", "pi_low": "pi_low", "pi_high": "pi_high"}
L1O_KEYMAP = {"estimate": "estimate", "se": "se", "tau2": "tau2", "I2": "i2"}
QP_KEYMAP = {"tau2_low": "tau2_ci_low", "tau2_high": "tau2_ci_high"}

# the grids the tests are parametrised over; test_reference_grid_is_complete checks them
POOL_GRID = [(n, m) for n in sorted(CASES) for m in METHODS]
HKSJ_GRID = [(n, m) for n in sorted(CASES) for m in RE_METHODS]

def rtol_for(method: str) -> float:
    return CLOSED_FORM_RTOL if method in CLOSED_FORM else ITERATIVE_RTOL


def data(name):
    c = CASES[name]
    return np.array(c["yi"]), np.array(c["vi"])


@pytest.mark.parametrize("name, method", POOL_GRID)
def test_pool_matches_metafor(name, method):
    y, v = data(name)
    ref = CASES[name]["results"][method]
    res = pool(y, v, method=method)
    for key, value in ref.items():
        if key == "hksj":
            continue
        np.testing.assert_allclose(getattr(res, KEYMAP[key]), value, rtol=rtol_for(method),
                                   atol=ATOL, err_msg=f"{name} {method} {key}")


@pytest.mark.parametrize("name, method", HKSJ_GRID)
def test_hksj_matches_metafor(name, method):
    y, v = data(name)
    ref = CASES[name]["results"][method]["hksj"]
    res = pool(y, v, method=method, ci="hksj")
    for key, value in ref.items():
        np.testing.assert_allclose(getattr(res, HKSJ_KEYMAP[key]), value, rtol=rtol_for(method),
                                   atol=ATOL, err_msg=f"{name} {method} hksj {key}")


@pytest.mark.parametrize("name", sorted(CASES))
def test_qprofile_matches_metafor(name):
    y, v = data(name)
    ref = CASES[name]["results"]["REML_tau2_ci_qprofile"]
    res = pool(y, v, method="REML")
    for key, value in ref.items():
        np.testing.assert_allclose(getattr(res, QP_KEYMAP[key]), value, rtol=ITERATIVE_RTOL,
                                   err_msg=f"{name} {key}")


@pytest.mark.parametrize("name", sorted(CASES))
def test_leave_one_out_matches_metafor(name):
    y, v = data(name)
    ref = CASES[name]["results"]["REML_leave1out"]
    frame = leave_one_out(y, v, method="REML")
    for key, values in ref.items():
        np.testing.assert_allclose(frame[L1O_KEYMAP[key]].to_numpy(), values,
                                   rtol=ITERATIVE_RTOL, err_msg=f"{name} {key}")


OTHER_BLOCKS = {"REML_tau2_ci_qprofile": QP_KEYMAP, "REML_leave1out": L1O_KEYMAP}
BIAS_BLOCKS = {"egger_regtest_lm_sei", "trimfill_FE"}  # compared in tests/test_bias.py


def test_reference_grid_is_complete():
    """Every case x result block x key in the reference file is compared by a test above (or by
    test_bias.py), so the comparison cannot quietly shrink to the values that pass."""
    assert len(CASES) == 6
    for name, case in CASES.items():
        blocks = set(case["results"])
        assert blocks == set(METHODS) | set(OTHER_BLOCKS) | BIAS_BLOCKS, name
        for method in METHODS:
            assert (name, method) in POOL_GRID
            ref = case["results"][method]
            assert set(ref) - {"hksj"} <= set(KEYMAP), (name, method, set(ref) - set(KEYMAP))
            if method != "FE":
                assert (name, method) in HKSJ_GRID
                assert set(ref["hksj"]) == set(HKSJ_KEYMAP), (name, method)
            else:
                assert "hksj" not in ref
        for block, keymap in OTHER_BLOCKS.items():
            assert set(case["results"][block]) == set(keymap), (name, block)


# --------------------------------------------------------------------------------------------
# pool_many


@pytest.mark.parametrize("ci", ["wald", "hksj"])
@pytest.mark.parametrize("method", METHODS)
def test_pool_many_equals_pool_row_by_row(method, ci):
    rows = [data(n) for n in sorted(CASES)]
    ys = [r[0] for r in rows]
    vs = [r[1] for r in rows]
    frame = pool_many(ys, vs, method=method, ci=ci)  # ragged list input
    assert list(frame.columns) == list(SCALAR_KEYS) + list(EXTRA_KEYS)
    for i, (y, v) in enumerate(rows):
        single = pool(y, v, method=method, ci=ci).to_frame().iloc[0]
        for key in SCALAR_KEYS + EXTRA_KEYS:
            if key in ("measure",):
                continue
            if key in ("method", "ci_method", "pi_method"):
                assert frame[key].iloc[i] == single[key]
                continue
            np.testing.assert_allclose(frame[key].iloc[i], single[key], rtol=1e-8, atol=1e-14,
                                       err_msg=f"row {i} {key}")


def test_pool_many_nan_padding_equals_list():
    rng = np.random.default_rng(1)
    Y = rng.normal(size=(30, 12))
    V = rng.uniform(0.01, 0.5, size=(30, 12))
    ks = rng.integers(2, 13, size=30)
    for i, k in enumerate(ks):
        Y[i, k:] = np.nan
        V[i, k:] = np.nan
    padded = pool_many(Y, V, tau2_ci=True)
    listed = pool_many([Y[i, :k] for i, k in enumerate(ks)], [V[i, :k] for i, k in enumerate(ks)],
                       tau2_ci=True)
    text = ["measure", "method", "ci_method", "pi_method"]
    assert (padded[text] == listed[text]).all(axis=None)
    np.testing.assert_allclose(padded.drop(columns=text).to_numpy(float),
                               listed.drop(columns=text).to_numpy(float), rtol=1e-10)
    for i in (0, 7, 29):
        r = pool(Y[i, :ks[i]], V[i, :ks[i]])
        assert padded["tau2"].iloc[i] == pytest.approx(r.tau2, rel=1e-8, abs=1e-14)
        assert padded["tau2_ci_high"].iloc[i] == pytest.approx(r.tau2_ci_high, rel=1e-8)


def test_pool_many_random_rows_equal_pool():
    rng = np.random.default_rng(2024)
    Y = rng.normal(0.3, 0.4, size=(40, 20))
    V = rng.uniform(0.005, 0.3, size=(40, 20))
    for method in ("REML", "PM", "EB", "ML"):
        frame = pool_many(Y, V, method=method)
        for i in range(0, 40, 7):
            r = pool(Y[i], V[i], method=method)
            for key in ("estimate", "se", "tau2", "i2", "pi_low"):
                assert frame[key].iloc[i] == pytest.approx(getattr(r, key), rel=1e-8, abs=1e-14)


# --------------------------------------------------------------------------------------------
# behaviour: results, edge cases, bad input


def test_result_is_frozen_and_contract_shaped():
    y, v = data("bcg_RR")
    res = pool(y, v, measure="RR")
    with pytest.raises(AttributeError):
        res.tau2 = 1.0  # type: ignore[misc]
    with pytest.raises(ValueError):
        res.yi[0] = 0.0
    d = res.to_dict()
    # the contract's keys first and in order (DESIGN.md), then the named defaults, then studies
    assert list(d) == (list(SCALAR_KEYS) + list(EXTRA_KEYS) + list(TAU2_CI_KEYS)
                       + ["converged", "fallback", "notes", "studies"])
    assert d["level"] == 95.0 and d["ci_method"] == "wald" and math.isnan(d["df"])
    assert d["pi_method"].startswith("metafor: normal quantile") and math.isnan(d["pi_df"])
    assert d["tau2_ci_method"] == "Q-profile"
    assert d["tau2_ci_low"] == res.tau2_ci_low and d["tau2_ci_high"] == res.tau2_ci_high
    assert d["converged"] is True and d["fallback"] is False and d["notes"] == []
    assert len(d["studies"]) == 13 and set(d["studies"][0]) == {"yi", "vi", "weight"}
    assert sum(s["weight"] for s in d["studies"]) == pytest.approx(100)
    assert json.dumps(d)  # plain types
    text = res.summary()
    for word in ("REML", "Wald", "prediction interval", "Q-profile", "back-transformed"):
        assert word in text
    assert list(res.to_frame().columns) == (list(SCALAR_KEYS) + list(EXTRA_KEYS)
                                            + ["tau2_ci_low", "tau2_ci_high"])
    assert res.studies_frame().shape == (13, 6)


@pytest.mark.parametrize("method", ["REML", "DL"])
def test_hksj_names_t_and_df_like_metafor(method):
    """Under HKSJ, z/p carry metafor's t statistic and p (zval/pval with test="knha"), and the
    output says so: ci_method "hksj", df = k - 1, PI from t with k - 1 df."""
    y, v = data("bcg_RR")
    ref = CASES["bcg_RR"]["results"][method]["hksj"]
    d = pool(y, v, method=method, ci="hksj").to_dict()
    assert d["ci_method"] == "hksj" and d["df"] == ref["df"] == 12 and d["pi_df"] == 12
    assert d["z"] == pytest.approx(ref["t"], rel=rtol_for(method))
    assert d["p"] == pytest.approx(ref["p"], rel=rtol_for(method))
    assert "k-1 df" in d["pi_method"]
    t_k2 = pool(y, v, method=method, ci="hksj", pi="t_k2").to_dict()
    assert t_k2["pi_method"].startswith("t_k2: t quantile with k-2 df") and t_k2["pi_df"] == 11


def test_fe_names_no_tau2_interval():
    y, v = data("bcg_RR")
    d = pool(y, v, method="FE").to_dict()
    assert d["tau2"] == 0 and d["tau2_ci_method"] is None and math.isnan(d["tau2_ci_low"])
    assert any("common-effect" in n for n in d["notes"])
    assert pool(y, v, tau2_ci=False).to_dict()["tau2_ci_method"] is None


def test_fallback_is_named_in_notes():
    y, v = data("bcg_RR")
    d = pool(y, v, control={"maxiter": 1}).to_dict()
    assert d["fallback"] is True and any("did not converge" in n for n in d["notes"])


def test_pool_accepts_effect_sizes_result():
    from evidencekit.stats.effects import effect_sizes
    inp = CASES["normand1999_SMD"]["inputs"]
    es = effect_sizes("SMD", **{k: inp[k] for k in ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")})
    res = pool(es)
    assert res.measure == "SMD"
    assert res.tau2 == pytest.approx(CASES["normand1999_SMD"]["results"]["REML"]["tau2"],
                                     rel=ITERATIVE_RTOL)


def test_missing_rows_are_dropped_with_a_warning_naming_them():
    y, v = data("bcg_RR")
    y = y.copy()
    y[2] = np.nan
    labels = [f"trial {i + 1}" for i in range(13)]
    with pytest.warns(MissingDataWarning, match="trial 3"):
        res = pool(y, v, labels=labels)
    assert res.k == 12 and res.dropped == (2,)
    ref = pool(np.delete(data("bcg_RR")[0], 2), np.delete(v, 2))
    assert res.estimate == pytest.approx(ref.estimate, rel=1e-14)


def test_k1_returns_the_study_and_says_what_cannot_be_estimated():
    res = pool([0.4], [0.04], ci="hksj")
    assert res.k == 1
    assert math.isnan(res.tau2) and math.isnan(res.i2) and math.isnan(res.pi_low)
    assert math.isnan(res.se) and math.isnan(res.df)  # HKSJ has no df
    assert any("k = 1" in n and "HKSJ" in n for n in res.notes)
    wald = pool([0.4], [0.04])
    assert wald.estimate == 0.4 and wald.se == pytest.approx(0.2)
    # tau² cannot be estimated, so neither can the prediction interval (metafor: tau² = 0, PI = CI)
    assert math.isnan(wald.pi_low) and math.isnan(wald.pi_high)
    assert math.isnan(wald.tau2_ci_low) and math.isnan(wald.tau2_ci_high)
    d = wald.to_dict()
    assert any("prediction interval" in n and "Q-profile" in n for n in d["notes"])
    assert "k = 1" in wald.summary()
    fe = pool([0.4], [0.04], method="FE")  # common effect: PI = CI by assumption, as in metafor
    assert fe.pi_low == fe.ci_low and fe.tau2 == 0


def test_k2_works_and_t_pi_is_not_estimated():
    res = pool([0.1, 0.5], [0.02, 0.03], pi="t_k2")
    assert res.k == 2 and math.isfinite(res.tau2) and math.isfinite(res.ci_low)
    assert math.isnan(res.pi_low) and any("k - 2" in n for n in res.notes)
    assert math.isnan(res.to_dict()["pi_df"])
    d = pool([0.1, 0.5], [0.02, 0.03]).to_dict()
    assert math.isfinite(d["pi_low"]) and math.isfinite(d["tau2_ci_high"])
    assert any("k = 2" in n and "imprecise" in n for n in d["notes"])


def test_t_k2_prediction_interval_formula():
    y, v = data("bcg_RR")
    r = pool(y, v, pi="t_k2")
    from scipy import stats
    half = stats.t.isf(0.025, r.k - 2) * math.sqrt(r.se**2 + r.tau2)
    assert r.pi_high - r.estimate == pytest.approx(half, rel=1e-12)


@pytest.mark.parametrize("yi, vi, match", [
    ([], [], "k = 0"),
    ([np.nan], [0.1], "k = 0"),
    ([0.1, 0.2], [0.1], "same length"),
    ([0.1, 0.2], [0.1, -0.1], "positive"),
    ([0.1, 0.2], [0.1, np.inf], "positive"),
    ([0.1, 0.2], [0.1, 0.0], "positive"),
    ([0.1, np.inf], [0.1, 0.1], "finite"),
    (["a", "b"], [0.1, 0.1], "numbers"),
])
def test_bad_input_raises_input_error(yi, vi, match):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingDataWarning)
        with pytest.raises(InputError, match=match):
            pool(yi, vi)


@pytest.mark.parametrize("kwargs, match", [
    ({"method": "XYZ"}, "unknown method"),
    ({"ci": "knha"}, "unknown ci"),
    ({"pi": "z"}, "unknown pi"),
    ({"level": 120}, "level"),
    ({"control": {"bogus": 1}}, "control"),
])
def test_bad_options_raise_input_error(kwargs, match):
    with pytest.raises(InputError, match=match):
        pool([0.1, 0.2], [0.1, 0.1], **kwargs)


def test_pool_many_bad_input():
    with pytest.raises(InputError, match="k = 0"):
        pool_many([[np.nan, np.nan], [0.1, 0.2]], [[np.nan, np.nan], [0.1, 0.1]])
    with pytest.raises(InputError, match="positive"):
        pool_many([[0.1, 0.2]], [[0.1, -1.0]])
    with pytest.raises(InputError, match="same shape"):
        pool_many(np.zeros((2, 3)), np.ones((2, 4)))
    with pytest.raises(InputError, match="unknown method"):
        pool_many(np.zeros((2, 3)), np.ones((2, 3)), method="nope")


def test_fallback_when_fisher_scoring_cannot_converge():
    """Force Fisher scoring to fail (maxiter=1): the bracketed root gives the REML maximum."""
    y, v = data("bcg_RR")
    forced = pool(y, v, control={"maxiter": 1})
    assert forced.fallback and forced.converged
    exact = pool(y, v, control={"threshold": 1e-14})
    assert forced.tau2 == pytest.approx(exact.tau2, rel=1e-9)
    many = pool_many(np.vstack([y, y]), np.vstack([v, v]), control={"maxiter": 1})
    assert many["tau2"].iloc[1] == pytest.approx(forced.tau2, rel=1e-12)


def test_tau2_zero_when_homogeneous():
    for method in RE_METHODS:
        r = pool([0.2, 0.2, 0.2, 0.2], [0.1, 0.2, 0.3, 0.1], method=method)
        assert r.tau2 == 0.0 and r.i2 == 0.0


@pytest.mark.parametrize("method", ["FE", "DL", "HS", "HE"])
@pytest.mark.parametrize("ci", ["wald", "hksj"])
def test_closed_form_leave_one_out_equals_refits(method, ci):
    rng = np.random.default_rng(11)
    y, v = rng.normal(0.3, 0.4, 25), rng.uniform(0.01, 0.3, 25)
    fast = leave_one_out(y, v, method=method, ci=ci)
    idx = np.array([[j for j in range(25) if j != i] for i in range(25)])
    slow = pool_many(y[idx], v[idx], method=method, ci=ci)
    assert list(fast.columns) == list(slow.columns)
    num = fast.select_dtypes("number").columns
    np.testing.assert_allclose(fast[num].to_numpy(float), slow[num].to_numpy(float),
                               rtol=1e-9, atol=1e-14)


def test_chunked_leave_one_out_equals_one_batch(monkeypatch):
    import evidencekit.stats.leave_one_out as loo_module

    rng = np.random.default_rng(12)
    y, v = rng.normal(0.3, 0.4, 30), rng.uniform(0.01, 0.3, 30)
    whole = leave_one_out(y, v, method="REML")
    monkeypatch.setattr(loo_module, "LOO_CHUNK_CELLS", 60)  # two rows per chunk
    chunked = leave_one_out(y, v, method="REML")
    pd.testing.assert_frame_equal(whole, chunked)


def test_engine_distribution_functions_equal_scipy_stats():
    """The engine calls scipy.special directly (speed); the numbers must be scipy.stats's."""
    from scipy import stats

    import evidencekit.stats.distributions as P

    rng = np.random.default_rng(5)
    x = np.concatenate([rng.uniform(-5, 60, 500), [0.0, 1e-300, np.inf, np.nan, -1.0]])
    q = np.concatenate([rng.uniform(0, 1, 500), [0.0, 1.0, 0.025, 0.5, np.nan]])
    df = np.concatenate([rng.uniform(0.5, 50, 500), [1.0, 2.0, 3.0, np.nan, 4.0]])
    pairs = [(P.norm_isf(q), stats.norm.isf(q)), (P.norm_sf(x), stats.norm.sf(x)),
             (P.chi2_sf(x, df), stats.chi2.sf(x, df)), (P.chi2_isf(q, df), stats.chi2.isf(q, df)),
             (P.chi2_ppf(q, df), stats.chi2.ppf(q, df)), (P.t_sf(x, df), stats.t.sf(x, df)),
             (P.t_isf(q, df), stats.t.isf(q, df))]
    for ours, theirs in pairs:
        np.testing.assert_array_equal(ours, theirs)
    # the one two-sided quantile of every interval, at any level, z or t
    for level in (50.0, 90.0, 95.0, 99.9):
        assert P.critical_value(level) == stats.norm.isf((1 - level / 100) / 2)
        np.testing.assert_array_equal(P.critical_value(level, df[:50]),
                                      stats.t.isf((1 - level / 100) / 2, df[:50]))


def test_scalar_zeroin_equals_the_vectorised_one_bit_for_bit():
    import evidencekit.stats.rootfinding as P

    rng = np.random.default_rng(8)
    for _ in range(50):
        k = int(rng.integers(3, 30))
        Y = rng.normal(0.2, 0.6, (2, k))
        V = rng.uniform(0.01, 0.4, (2, k))

        def f(t, Y=Y, V=V, k=k):
            # a Q(tau²) - (k - 1) computed elementwise per row (no BLAS, so the same sums for
            # one row or two): what is compared is the root finding alone
            rows = t.size
            sw = swy = swyy = 0.0
            for j in range(k):
                w = 1.0 / (V[:rows, j] + t)
                sw, swy, swyy = sw + w, swy + w * Y[:rows, j], swyy + w * Y[:rows, j] ** 2
            return swyy - swy * swy / sw - (k - 1)

        lo, hi = np.zeros(2), np.full(2, 50.0)
        both, conv2 = P.zeroin(f, lo, hi, f(lo), f(hi), 1e-9, 100)
        first, conv1 = P.zeroin(f, lo[:1], hi[:1], f(lo)[:1], f(hi)[:1], 1e-9, 100)
        assert first[0] == both[0] and conv1[0] == conv2[0]


@pytest.mark.parametrize("method", ["REML", "ML", "EB"])
def test_single_analysis_fisher_scoring_equals_the_batch_path(method):
    """pool() runs Fisher scoring on Python floats; pool_many on arrays: the same tau²."""
    import evidencekit.stats.tau2 as P

    rng = np.random.default_rng(21)
    Y = rng.normal(0.2, 0.5, (12, 40))
    V = rng.uniform(0.01, 0.4, (12, 40))
    Mf = np.ones_like(Y)
    t0 = np.full(40, 0.05)
    ctl = dict(P.DEFAULT_CONTROL)
    batch = P.fisher_scoring(method, t0, Y, V, Mf, ctl)
    for j in range(40):
        one = P.fisher_scoring(method, t0[j:j + 1], np.ascontiguousarray(Y[:, j:j + 1]),
                                np.ascontiguousarray(V[:, j:j + 1]), Mf[:, j:j + 1], ctl)
        assert one[0][0] == pytest.approx(batch[0][j], rel=1e-12, abs=1e-15)
        assert one[1][0] == batch[1][j] and one[2][0] == batch[2][j]


def test_column_median_equals_numpy():
    import evidencekit.stats.tau2 as P

    rng = np.random.default_rng(4)
    for k in (1, 2, 3, 10, 11):
        X = rng.normal(size=(k, 7))
        np.testing.assert_array_equal(P.median_cols(X), np.median(X, axis=0))


def test_exact_solving_figures_in_the_methods_doc_are_the_measured_ones():
    """docs/methods.md quotes how far metafor's stopping rules leave tau² from the exact root on
    metafor's data sets; the figures must be the maxima tests/data/metafor-exact-solving.R wrote."""
    data = json.loads((Path(__file__).parent / "data" / "metafor-exact-solving.json").read_text())
    doc = (Path(__file__).parent.parent / "docs" / "methods.md").read_text(encoding="utf-8")
    assert len(data["sets"]) >= 15
    for method in ("PM", "REML", "ML"):
        rel = [s[f"{method}_rel"] for s in data["sets"] if s[f"{method}_rel"] is not None]
        worst = max(rel)
        assert f"**{worst:.1e}** in {method} τ²".replace("e-0", "e-") in doc or \
            f"**{worst:.1e}** relative in {method} τ²".replace("e-0", "e-") in doc, (method, worst)
