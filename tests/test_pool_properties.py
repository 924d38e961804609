"""Properties that must hold for any valid input (hypothesis, deterministic profile)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from evidencekit.stats.effects import effect_sizes
from evidencekit.stats.batch import pool_many
from evidencekit.stats.pooling import pool
from evidencekit.stats.tau2 import METHODS

# The hypothesis profile (deterministic, modest, no example database) is set for the whole suite in
# tests/conftest.py; `--hypothesis-profile=explore` searches randomly and harder.

# Different but equivalent arithmetic (reordered sums, rescaled data) agrees to rounding; the
# iterative estimators stop at metafor's threshold (1e-5 absolute in tau2), which an exact
# transformation of the data need not reproduce digit for digit.
RTOL_EXACT = 1e-9
RTOL_ITERATIVE = 1e-4
# One study: the pooled estimate is the inverse-variance mean (y * w) / w with w = 1/v, computed as
# for any k. The rounded w cancels, but the product and the quotient are each rounded (<= eps/2
# relative each), so the estimate is y to within eps, not bit for bit: about 9% of random (y, v)
# give a 1-ulp difference (e.g. the pinned example below; measured max 0.98 eps over 2e5 draws).
# metafor's rma.uni computes the same weighted mean and rounds the same way. The absolute part
# covers subnormal y, where the rounding of y * w is absolute (~5e-324), not relative.
RTOL_ONE_STUDY = 2 * np.finfo(float).eps
ATOL_ONE_STUDY = 1e-300

finite = st.floats(-5, 5, allow_nan=False, allow_infinity=False)
variance = st.floats(0.005, 2.0, allow_nan=False, allow_infinity=False)


@st.composite
def studies(draw, min_k=1, max_k=12):
    k = draw(st.integers(min_k, max_k))
    y = np.array(draw(st.lists(finite, min_size=k, max_size=k)))
    v = np.array(draw(st.lists(variance, min_size=k, max_size=k)))
    return y, v


arm = st.tuples(st.floats(-50, 50), st.floats(0.5, 20), st.integers(3, 200))


@given(a=arm, b=arm)
def test_swapping_arms_negates_md_and_smd(a, b):
    for measure in ("MD", "SMD"):
        x = effect_sizes(measure, m1i=[a[0]], sd1i=[a[1]], n1i=[a[2]], m2i=[b[0]], sd2i=[b[1]],
                         n2i=[b[2]])
        y = effect_sizes(measure, m1i=[b[0]], sd1i=[b[1]], n1i=[b[2]], m2i=[a[0]], sd2i=[a[1]],
                         n2i=[a[2]])
        assert x.yi[0] == pytest.approx(-y.yi[0], rel=1e-12, abs=1e-12)
        assert x.vi[0] == pytest.approx(y.vi[0], rel=1e-12)


@given(data=studies(min_k=2), method=st.sampled_from(METHODS), seed=st.integers(0, 2**16))
def test_permuting_studies_changes_nothing(data, method, seed):
    y, v = data
    perm = np.random.default_rng(seed).permutation(y.size)
    a, b = pool(y, v, method=method, tau2_ci=False), pool(y[perm], v[perm], method=method,
                                                          tau2_ci=False)
    rtol = RTOL_EXACT if method in ("FE", "DL", "HE", "HS", "SJ") else RTOL_ITERATIVE
    for key in ("estimate", "se", "tau2", "i2", "q"):
        assert getattr(a, key) == pytest.approx(getattr(b, key), rel=rtol, abs=1e-7), key


@given(y=finite, v=variance, method=st.sampled_from(METHODS))
@example(y=3.158535541215322, v=0.010463307839445449, method="FE")  # 1 ulp off: see RTOL_ONE_STUDY
def test_pooling_one_study_returns_it(y, v, method):
    r = pool([y], [v], method=method)
    assert r.estimate == pytest.approx(y, rel=RTOL_ONE_STUDY, abs=ATOL_ONE_STUDY)
    assert r.se == pytest.approx(math.sqrt(v), rel=RTOL_ONE_STUDY)
    assert r.notes and math.isnan(r.i2)


@given(data=studies(min_k=2), c=st.floats(0.1, 10), method=st.sampled_from(["FE", "DL", "HE"]))
def test_rescaling_md_rescales_result(data, c, method):
    """MD in other units (e.g. mm vs cm): estimate and CI scale by c, tau2 by c²; I² unchanged.
    (Closed-form estimators; the iterative ones stop at an absolute threshold, so scale-equivariant
    only to that threshold.)"""
    y, v = data
    a = pool(y, v, method=method, tau2_ci=False)
    b = pool(c * y, c * c * v, method=method, tau2_ci=False)
    assert b.estimate == pytest.approx(c * a.estimate, rel=1e-9, abs=1e-9)
    assert b.ci_high == pytest.approx(c * a.ci_high, rel=1e-9, abs=1e-9)
    assert b.tau2 == pytest.approx(c * c * a.tau2, rel=1e-9, abs=1e-12)
    assert b.i2 == pytest.approx(a.i2, rel=1e-9, abs=1e-9)


@given(data=studies(min_k=2), c=st.floats(0.5, 2), method=st.sampled_from(["REML", "PM", "ML"]))
def test_rescaling_iterative_to_threshold(data, c, method):
    y, v = data
    a = pool(y, v, method=method, tau2_ci=False, control={"threshold": 1e-12, "tol": 1e-12})
    b = pool(c * y, c * c * v, method=method, tau2_ci=False,
             control={"threshold": 1e-12, "tol": 1e-12})
    assert b.estimate == pytest.approx(c * a.estimate, rel=1e-6, abs=1e-8)
    assert b.tau2 == pytest.approx(c * c * a.tau2, rel=1e-6, abs=1e-9)


@given(data=studies(min_k=1), method=st.sampled_from(METHODS), ci=st.sampled_from(["wald", "hksj"]))
def test_tau2_nonnegative_and_i2_in_range(data, method, ci):
    y, v = data
    r = pool(y, v, method=method, ci=ci)
    if r.k == 1:
        assert math.isnan(r.tau2) or (method == "FE" and r.tau2 == 0)
        return
    assert r.tau2 >= 0 and 0 <= r.i2 <= 100
    # metafor's H² is Q/df under the common-effect model (can be < 1), (tau² + s²)/s² otherwise
    assert r.h2 >= (0 if method == "FE" else 1 - 1e-12)
    assert r.converged
    if method != "FE":
        assert r.tau2_ci_low <= r.tau2_ci_high


@given(rows=st.lists(studies(min_k=1, max_k=8), min_size=1, max_size=6),
       method=st.sampled_from(METHODS), ci=st.sampled_from(["wald", "hksj"]))
def test_pool_many_equals_pool_row_by_row(rows, method, ci):
    frame = pool_many([r[0] for r in rows], [r[1] for r in rows], method=method, ci=ci)
    for i, (y, v) in enumerate(rows):
        r = pool(y, v, method=method, ci=ci, tau2_ci=False)
        for key in ("estimate", "se", "ci_low", "ci_high", "z", "p", "tau2", "i2", "h2", "q",
                    "q_p", "pi_low", "pi_high"):
            np.testing.assert_allclose(frame[key].iloc[i], getattr(r, key), rtol=1e-8,
                                       atol=1e-12, equal_nan=True, err_msg=f"{i} {key}")


# --- issue 15: leave-one-out, Mantel-Haenszel, subgroups, meta-regression ---------------------

@given(studies(min_k=3, max_k=15), st.sampled_from(["FE", "DL", "HS", "HE"]))
def test_closed_form_leave_one_out_is_the_refit(data, method):
    from evidencekit.stats.leave_one_out import leave_one_out

    y, v = data
    fast = leave_one_out(y, v, method=method)
    for i in (0, len(y) - 1):
        keep = np.arange(len(y)) != i
        ref = pool(y[keep], v[keep], method=method, tau2_ci=False)
        assert fast["estimate"].iloc[i] == pytest.approx(ref.estimate, rel=RTOL_EXACT, abs=1e-12)
        assert fast["tau2"].iloc[i] == pytest.approx(ref.tau2, rel=RTOL_EXACT, abs=1e-12)


counts = st.integers(0, 40)


@given(st.lists(st.tuples(counts, counts, counts, counts), min_size=2, max_size=8))
def test_mantel_haenszel_swapping_groups_flips_the_sign(tables):
    from evidencekit.stats.mh import mantel_haenszel

    a, b, c, d = (np.array(col, float) for col in zip(*tables))
    for measure in ("OR", "RR", "RD"):
        one = mantel_haenszel(measure, ai=a, bi=b, ci=c, di=d)
        two = mantel_haenszel(measure, ai=c, bi=d, ci=a, di=b)
        if math.isfinite(one.estimate):
            assert two.estimate == pytest.approx(-one.estimate, rel=1e-9, abs=1e-12)
            assert two.se == pytest.approx(one.se, rel=1e-9)


@given(studies(min_k=4, max_k=12), st.sampled_from(["REML", "DL", "FE"]))
def test_subgroup_test_is_a_nonnegative_q_with_levels_minus_one_df(data, method):
    from evidencekit.stats.models import subgroup_analysis

    y, v = data
    groups = ["a", "b"] * (len(y) // 2) + ["a"] * (len(y) % 2)
    res = subgroup_analysis(y, v, groups, method=method)
    assert res.q_between >= 0 and res.q_between_df == 1 and 0 <= res.q_between_p <= 1


@given(studies(min_k=5, max_k=12))
def test_meta_regression_on_a_shifted_moderator_keeps_the_slope(data):
    from evidencekit.stats.models import meta_regression

    y, v = data
    x = np.arange(len(y), dtype=float)
    one = meta_regression(y, v, {"x": x})
    two = meta_regression(y, v, {"x": x + 10.0})
    assert two.coefficients[1].estimate == pytest.approx(one.coefficients[1].estimate,
                                                         rel=RTOL_ITERATIVE, abs=1e-9)
    assert two.tau2 == pytest.approx(one.tau2, rel=RTOL_ITERATIVE, abs=1e-9)
