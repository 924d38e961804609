"""effects.effect_sizes against metafor's escalc (tests/data/metafor-reference.json), conversions."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evidencekit.stats.conversions import sd_from_ci, sd_from_se, se_from_ci, se_from_p
from evidencekit.stats.effects import (COLUMNS, MEASURES, effect_sizes, effect_sizes_from_frame,
                                       ri_sweep)
from evidencekit.stats.escalc_means import hedges_correction
from evidencekit.errors import InputError

REFERENCE = json.loads((Path(__file__).parent / "data" / "metafor-reference.json").read_text())
CASES = {c["name"]: c for c in REFERENCE["cases"]}

# escalc is closed-form arithmetic: agreement is limited only by floating-point rounding.
CLOSED_FORM_RTOL = 1e-10


def metafor_args(case):
    """The escalc call of metafor-reference.R, with its column -> argument mapping."""
    inp, m = case["inputs"], case["measure"]
    if m in ("RR", "OR"):
        return dict(ai=inp["tpos"], bi=inp["tneg"], ci=inp["cpos"], di=inp["cneg"])
    if m in ("MD", "SMD"):
        return {k: inp[k] for k in ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")}
    if m == "SMCR":
        return dict(m1i=inp["m_post"], m2i=inp["m_pre"], sd1i=inp["sd_pre"], ni=inp["ni"],
                    ri=inp["ri"])
    if m == "SMCC":
        return dict(m1i=inp["m_post"], m2i=inp["m_pre"], sd1i=inp["sd_post"],
                    sd2i=inp["sd_pre"], ni=inp["ni"], ri=inp["ri"])
    raise AssertionError(m)


@pytest.mark.parametrize("name", sorted(CASES))
def test_escalc_matches_metafor(name):
    case = CASES[name]
    es = effect_sizes(case["measure"], **metafor_args(case))
    np.testing.assert_allclose(es.yi, case["yi"], rtol=CLOSED_FORM_RTOL)
    np.testing.assert_allclose(es.vi, case["vi"], rtol=CLOSED_FORM_RTOL)
    assert es.measure == case["measure"]


def test_every_reference_case_has_an_escalc_test():
    assert {c["measure"] for c in CASES.values()} <= set(MEASURES)
    for case in CASES.values():
        assert len(case["yi"]) == len(case["vi"]) > 0


def test_hedges_exact_correction_vs_approximation():
    m = np.array([2, 5, 10, 50, 500])
    exact = hedges_correction(m)
    approx = 1 - 3 / (4 * m - 1)
    assert np.all(np.abs(exact - approx) < 2e-2)
    assert np.all(np.diff(np.abs(exact - approx)) < 0)  # converges as m grows
    assert hedges_correction(10) == pytest.approx(0.9227456, abs=1e-7)  # Hedges 1981, Table 2


def test_statsmodels_smd_convention_differs():
    """statsmodels' effectsize_smd uses 1 - 3/(4N-9) and a (N - 3.94) variance: not metafor's."""
    from statsmodels.stats.meta_analysis import effectsize_smd
    args = metafor_args(CASES["normand1999_SMD"])
    sm_y, sm_v = effectsize_smd(np.array(args["m1i"], float), np.array(args["sd1i"], float),
                                np.array(args["n1i"], float), np.array(args["m2i"], float),
                                np.array(args["sd2i"], float), np.array(args["n2i"], float))
    ours = effect_sizes("SMD", **args)
    assert not np.allclose(sm_v, ours.vi, rtol=1e-6)
    np.testing.assert_allclose(sm_y, ours.yi, rtol=2e-3)  # same quantity, other correction


def test_zero_cells_get_half_only_in_affected_tables():
    es = effect_sizes("OR", ai=[0, 10], bi=[20, 20], ci=[5, 5], di=[15, 15])
    assert es.corrected.tolist() == [True, False]
    assert es.yi[0] == pytest.approx(np.log(0.5 * 15.5 / (20.5 * 5.5)))
    assert es.vi[1] == pytest.approx(1 / 10 + 1 / 20 + 1 / 5 + 1 / 15)
    rr = effect_sizes("RR", ai=[0], n1i=[20], ci=[5], n2i=[20])
    assert rr.yi[0] == pytest.approx(np.log((0.5 / 21) / (5.5 / 21)))


def test_md_swapping_arms_and_rom():
    a = dict(m1i=[5.0], sd1i=[2.0], n1i=[30], m2i=[4.0], sd2i=[1.5], n2i=[25])
    b = dict(m1i=[4.0], sd1i=[1.5], n1i=[25], m2i=[5.0], sd2i=[2.0], n2i=[30])
    for measure in ("MD", "SMD", "ROM"):
        x, y = effect_sizes(measure, **a), effect_sizes(measure, **b)
        assert x.yi[0] == pytest.approx(-y.yi[0]) and x.vi[0] == pytest.approx(y.vi[0])
    rom = effect_sizes("ROM", **a)
    assert rom.yi[0] == pytest.approx(np.log(5 / 4))
    assert rom.vi[0] == pytest.approx(4 / (30 * 25) + 2.25 / (25 * 16))


def test_missing_ri_needs_explicit_assumption_and_is_named():
    args = metafor_args(CASES["prepost_synthetic_SMCC"])
    ri = list(args.pop("ri"))
    ri[1] = np.nan
    with pytest.raises(InputError, match="assumed_ri"):
        effect_sizes("SMCC", ri=ri, **args)
    es = effect_sizes("SMCC", ri=ri, assumed_ri=0.5, **args)
    assert es.ri_assumed.tolist() == [False, True, False, False, False, False]
    assert es.ri[1] == 0.5
    assert any("0.5 assumed" in a for a in es.assumptions)
    assert "assumption" in es.summary()
    assert es.to_frame()["ri_assumed"].sum() == 1


def test_ri_sweep_feeds_pool_many():
    from evidencekit.stats.batch import pool_many
    args = metafor_args(CASES["prepost_synthetic_SMCR"])
    args.pop("ri")
    sweep = ri_sweep("SMCR", assumed=(0.2, 0.5, 0.8), **args)
    assert sweep.yi.shape == (3, 6)
    assert np.allclose(sweep.yi[0], sweep.yi[2])  # SMCR's yi does not depend on r
    assert np.all(sweep.vi[0] > sweep.vi[2])      # its variance does
    frame = pool_many(sweep.yi, sweep.vi)
    assert len(frame) == 3 and len(sweep.to_frame()) == 18


def test_generic_from_se_ci_and_p():
    a = effect_sizes("GEN", yi=[0.5], sei=[0.2])
    assert a.vi[0] == pytest.approx(0.04)
    z = stats.norm.isf(0.025)
    b = effect_sizes("GEN", yi=[0.5], ci_lb=[0.5 - z * 0.2], ci_ub=[0.5 + z * 0.2])
    assert b.vi[0] == pytest.approx(0.04)
    r = effect_sizes("GEN", yi=[2.0], ci_lb=[1.0], ci_ub=[4.0], ratio=True)
    assert r.yi[0] == pytest.approx(np.log(2)) and r.vi[0] == pytest.approx((np.log(4) / (2 * z)) ** 2)
    p = effect_sizes("GEN", yi=[0.5], pval=[2 * stats.norm.sf(2.5)])
    assert p.vi[0] == pytest.approx(0.04)
    assert b.assumptions and p.assumptions


def test_conversions_follow_cochrane_handbook():
    assert se_from_ci(1.0, 4.92) == pytest.approx(3.92 / (2 * 1.959964), rel=1e-6)
    assert se_from_ci(0.5, 2.0, ratio=True) == pytest.approx(np.log(4) / 3.919928, rel=1e-6)
    assert se_from_p(0.5, 0.05) == pytest.approx(0.5 / 1.959964, rel=1e-6)
    assert sd_from_se(0.5, 16) == pytest.approx(2.0)
    # Handbook 6.5.2.2 worked example: n=25, CI 0.5 to 2.5 -> t(24) 2.064 -> SD ~ 2.42
    assert sd_from_ci(0.5, 2.5, 25) == pytest.approx(5 * 2 / (2 * stats.t.isf(0.025, 24)))
    assert sd_from_ci(0.5, 2.5, 25, dist="z") == pytest.approx(5 * 2 / 3.919928, rel=1e-6)
    with pytest.raises(InputError):
        se_from_p(0.5, 0)
    with pytest.raises(InputError):
        se_from_ci(2.0, 1.0)


@pytest.mark.parametrize("level", [80.0, 90.0, 99.0])
def test_se_from_ci_honours_the_level_of_the_interval(level):
    """The SE of a 90% CI is not the SE of a 95% CI of the same width (no 3.92 hard-coded)."""
    z = stats.norm.isf((1 - level / 100) / 2)
    assert se_from_ci(1.0, 3.0, level=level) == pytest.approx(2.0 / (2 * z), rel=1e-12)
    assert se_from_ci(1.0, 3.0, level=level) != pytest.approx(se_from_ci(1.0, 3.0), rel=1e-3)
    t = stats.t.isf((1 - level / 100) / 2, 9)
    assert se_from_ci(1.0, 3.0, level=level, df=9) == pytest.approx(2.0 / (2 * t), rel=1e-12)


@pytest.mark.parametrize("measure, kwargs, match", [
    ("XYZ", {}, "unknown measure"),
    ("MD", dict(m1i=[1], sd1i=[1], n1i=[10], m2i=[1], sd2i=[1]), "n2i"),
    ("MD", dict(m1i=[1, 2], sd1i=[1], n1i=[10], m2i=[1], sd2i=[1], n2i=[5]), "same length"),
    ("MD", dict(m1i=[1], sd1i=[-1], n1i=[10], m2i=[1], sd2i=[1], n2i=[5]), "sd1i"),
    ("OR", dict(ai=[1], bi=[-2], ci=[1], di=[2]), "bi"),
    ("SMCR", dict(m1i=[1], m2i=[2], sd1i=[1], ni=[10], ri=[1.5]), r"\[-1, 1\]"),
    ("GEN", dict(yi=[1]), "GEN needs"),
    ("MD", dict(m1i=[1], sd1i=[1], n1i=[10], m2i=[1], sd2i=[1], n2i=[5], ai=[1]), "ai"),
])
def test_bad_effect_size_input(measure, kwargs, match):
    with pytest.raises(InputError, match=match):
        effect_sizes(measure, **kwargs)


def test_from_frame_with_metafor_columns():
    case = CASES["normand1999_MD"]
    frame = pd.DataFrame({k: case["inputs"][k] for k in COLUMNS["MD"]})
    frame["study"] = case["inputs"]["source"]
    es = effect_sizes_from_frame(frame, "MD", label_column="study")
    np.testing.assert_allclose(es.yi, case["yi"], rtol=CLOSED_FORM_RTOL)
    assert es.labels[0] == "Edinburgh"
    with pytest.raises(InputError, match="missing column"):
        effect_sizes_from_frame(frame.drop(columns=["sd2i"]), "MD")
    bad = frame.astype(str)
    bad.loc[3, "m1i"] = "n/a?"
    with pytest.raises(InputError, match="non-number") as info:
        effect_sizes_from_frame(bad, "MD", source="x.csv")
    assert info.value.line == 5 and info.value.field == "m1i"
    assert isinstance(es.to_frame(), pd.DataFrame) and "MD" in es.summary()


def test_ri_sweep_summary_shows_the_variance_per_assumed_correlation():
    sweep = ri_sweep("SMCR", (0.2, 0.8), m1i=[1.0, 2.0], m2i=[2.0, 3.0], sd1i=[1.0, 1.0],
                     ni=[10, 12], ri=[np.nan, 0.6])
    text = sweep.summary()
    assert "1 of 2 stud(ies) report their own ri" in text
    assert "ri = 0.2: vi" in text and "ri = 0.8: vi" in text
    assert f"{sweep.vi[0, 0]:.4f}" in text and f"{sweep.vi[1, 0]:.4f}" in text
    assert sweep.vi[0, 0] > sweep.vi[1, 0]  # a higher correlation, a smaller variance


def test_rom_with_a_non_positive_mean_names_the_study():
    with pytest.raises(InputError, match=r"positive means .*check study/studies 2"):
        effect_sizes("ROM", m1i=[1.0, -1.0], sd1i=[1, 1], n1i=[10, 10], m2i=[2.0, 2.0],
                     sd2i=[1, 1], n2i=[10, 10])


def test_non_number_in_a_frame_without_line_index_counts_the_header_as_line_1():
    frame = pd.DataFrame({"yi": ["0.1", "0.2", "abc"], "vi": ["0.01", "0.02", "0.03"]})
    with pytest.raises(InputError) as exc:
        effect_sizes_from_frame(frame, "GEN", source="x.csv")
    assert exc.value.line == 4 and exc.value.field == "yi"
    frame.index = pd.Index([2, 5, 9], name="line")  # as the CLI's reader numbers the rows
    with pytest.raises(InputError) as exc:
        effect_sizes_from_frame(frame, "GEN", source="x.csv")
    assert exc.value.line == 9


# --- the measures beyond the first grid: tests/data/metafor-escalc-extended.{R,json} -----------

EXTENDED = json.loads((Path(__file__).parent / "data" / "metafor-escalc-extended.json").read_text())
EXTENDED_CASES = {c["name"]: c for c in EXTENDED["cases"]}
#: Every measure the R script covers; the grid may grow but not lose one (a test below).
EXTENDED_MEASURES = {"RR", "OR", "RD", "PR", "PLO", "PFT", "PAS", "COR", "ZCOR", "IRR", "IR"}


def _extended_args(case):
    """The escalc arguments of a case: its input columns that carry metafor's argument names."""
    names = set(COLUMNS[case["measure"]]) | {"n1i", "n2i"}
    return {k: np.array(v, dtype=float) for k, v in case["inputs"].items() if k in names}


@pytest.mark.parametrize("name", sorted(EXTENDED_CASES))
def test_extended_escalc_matches_metafor(name):
    case = EXTENDED_CASES[name]
    es = effect_sizes(case["measure"], **_extended_args(case))
    # metafor's NA (a study with a missing count, or vi for n <= 3) is null in the JSON
    expected_yi = np.array(case["yi"], dtype=float)
    expected_vi = np.array(case["vi"], dtype=float)
    np.testing.assert_allclose(es.yi, expected_yi, rtol=CLOSED_FORM_RTOL, atol=1e-15)
    np.testing.assert_allclose(es.vi, expected_vi, rtol=CLOSED_FORM_RTOL)


def test_extended_grid_is_complete():
    assert EXTENDED["source"].startswith("R metafor ")
    assert {c["measure"] for c in EXTENDED_CASES.values()} == EXTENDED_MEASURES
    assert EXTENDED_MEASURES <= set(MEASURES)
    assert len(EXTENDED_CASES) >= 15
    # the zero-cell cases that make the continuity correction matter stay in the grid
    for name in ("yusuf1985_t9_RR", "yusuf1985_t9_OR", "yusuf1985_t9_RD", "synthetic_zero_IRR",
                 "synthetic_zero_IR", "pritz1997_PLO"):
        assert name in EXTENDED_CASES


def test_double_zero_table_is_finite_as_escalc_and_dropped_with_drop00():
    # Waagstein in dat.yusuf1985 table 9: 0/39 vs 0/15 (escalc's default drop00 = FALSE)
    es = effect_sizes("RR", ai=[0], n1i=[39], ci=[0], n2i=[15])
    assert np.isfinite(es.yi[0]) and es.corrected[0]
    assert es.yi[0] == pytest.approx(np.log((0.5 / 40) / (0.5 / 16)))
    dropped = effect_sizes("RR", ai=[0], n1i=[39], ci=[0], n2i=[15], drop00=True)
    assert np.isnan(dropped.yi[0]) and np.isnan(dropped.vi[0])


def test_both_column_forms_of_a_two_by_two_table_agree():
    ai, n1i, ci, n2i = [4, 0, 12], [40, 25, 60], [9, 3, 12], [41, 26, 55]
    for measure in ("RR", "OR", "RD"):
        a = effect_sizes(measure, ai=ai, n1i=n1i, ci=ci, n2i=n2i)
        b = effect_sizes(measure, ai=ai, bi=np.subtract(n1i, ai), ci=ci, di=np.subtract(n2i, ci))
        np.testing.assert_array_equal(a.yi, b.yi)
        np.testing.assert_array_equal(a.vi, b.vi)


def test_pft_and_pas_add_nothing_by_default_like_escalc():
    pas = effect_sizes("PAS", xi=[0, 10], ni=[10, 10])
    assert pas.yi.tolist() == [0.0, pytest.approx(np.pi / 2)]
    assert not pas.corrected.any()
    pr = effect_sizes("PR", xi=[0], ni=[10])
    assert pr.yi[0] == pytest.approx(0.5 / 11) and pr.corrected[0]


@pytest.mark.parametrize("measure, kwargs, match", [
    ("PR", dict(xi=[12], ni=[10]), "xi .*larger than ni"),
    ("RD", dict(ai=[12], n1i=[10], ci=[1], n2i=[10]), "ai .*larger than n1i"),
    ("COR", dict(ri=[1.2], ni=[30]), r"\[-1, 1\]"),
    ("IRR", dict(x1i=[1], t1i=[0], x2i=[2], t2i=[10]), "t1i"),
    ("IR", dict(xi=[-1], ti=[10]), "xi"),
    ("PLO", dict(xi=[1], ni=[10], ri=[0.3]), "does not take"),
    ("RR", dict(ai=[1], bi=[2], ci=[1], di=[2]), None),
])
def test_bad_new_measure_input(measure, kwargs, match):
    if match is None:
        with pytest.raises(InputError, match="to must be"):
            effect_sizes(measure, to="sometimes", **kwargs)
        return
    with pytest.raises(InputError, match=match):
        effect_sizes(measure, **kwargs)


def test_zcor_has_no_variance_from_three_pairs_like_escalc():
    es = effect_sizes("ZCOR", ri=[0.5, 0.5], ni=[3, 20])
    assert np.isnan(es.vi[0]) and es.vi[1] == pytest.approx(1 / 17)


def test_from_frame_takes_group_sizes_for_rd():
    case = EXTENDED_CASES["hine1989_RD"]
    frame = pd.DataFrame({k: case["inputs"][k] for k in ("ai", "n1i", "ci", "n2i")})
    es = effect_sizes_from_frame(frame, "RD")
    np.testing.assert_allclose(es.yi, case["yi"], rtol=CLOSED_FORM_RTOL, atol=1e-15)
