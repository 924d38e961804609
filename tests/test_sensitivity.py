"""Sensitivity analyses of one pooled comparison (evidencekit.stats.sensitivity).

Hand-checkable cases (equal variances, where the common-effect estimate is the plain mean), and
R metafor's own fits of each analysis (tests/data/sensitivity-reference.R, its output in
sensitivity-reference.json; no R is needed to run these tests).
"""
from __future__ import annotations

import dataclasses
import json
import math
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from evidencekit import jsonout
from evidencekit.stats.effects import effect_sizes
from evidencekit.errors import InputError
from evidencekit.stats.engine import MissingDataWarning
from evidencekit.stats.sensitivity import (DEFAULT_ASSUMED_RI, SensitivityRow, direction_check,
                                     for_claim, for_rating, sensitivity_analyses)

DATA = Path(__file__).parent / "data"
REFERENCE = json.loads((DATA / "sensitivity-reference.json").read_text(encoding="utf-8"))["cases"]
#: pooling reproduces metafor's REML to ~1e-12 and the closed forms exactly; 1e-8 leaves room for
#: the 15 significant digits jsonlite writes and for exp() of the log-scale values.
TOL = 1e-8
Z975 = 1.959963984540054
CONTRACT_KEYS = ("analysis", "estimate", "ci_low", "ci_high", "k")


def _by_kind(report, kind):
    return [row for row in report.rows if row.kind == kind]


def _close(row, estimate, ci_low, ci_high, *, ratio=False):
    back = math.exp if ratio else float
    assert row.estimate == pytest.approx(back(estimate), abs=TOL, rel=TOL), row
    assert row.ci_low == pytest.approx(back(ci_low), abs=TOL, rel=TOL), row
    assert row.ci_high == pytest.approx(back(ci_high), abs=TOL, rel=TOL), row


# ---------------------------------------------------------------------------------------------
# by hand


def test_equal_variances_common_effect_is_the_mean_and_leave_one_out_the_others_mean():
    report = sensitivity_analyses([1.0, 2.0, 3.0], [0.04] * 3, method="FE",
                                  labels=["a", "b", "c"])
    half = Z975 * math.sqrt(0.04 / 3)
    _close(report.primary, 2.0, 2.0 - half, 2.0 + half)
    low, high = _by_kind(report, "leave-one-out")
    assert low.analysis == "leave-one-out, lowest: without c"
    assert high.analysis == "leave-one-out, highest: without a"
    half2 = Z975 * math.sqrt(0.04 / 2)
    _close(low, 1.5, 1.5 - half2, 1.5 + half2)
    _close(high, 2.5, 2.5 - half2, 2.5 + half2)
    assert low.k == high.k == 2
    assert list(report.leave_one_out["estimate"]) == pytest.approx([2.5, 2.0, 1.5])


def test_shared_labels_still_give_one_row_each():
    report = sensitivity_analyses([1.0, 2.0, 3.0], [0.04] * 3, method="FE",
                                  labels=["same", "same", "other"])
    low, high = _by_kind(report, "leave-one-out")
    assert (low.estimate, high.estimate) == (pytest.approx(1.5), pytest.approx(2.5))
    assert low.analysis.endswith("without other") and high.analysis.endswith("without same")


def test_homogeneous_studies_give_the_same_estimate_under_both_models():
    report = sensitivity_analyses([0.5, 0.5, 0.5, 0.5], [0.1, 0.2, 0.3, 0.4])
    (model,) = _by_kind(report, "model")
    assert model.analysis.startswith("common-effect")
    assert model.estimate == pytest.approx(0.5) == report.primary.estimate
    assert model.ci_low == pytest.approx(report.primary.ci_low)  # tau² = 0: the same fit


def test_the_other_interval_and_model_are_named_and_the_primary_is_not_repeated():
    report = sensitivity_analyses([0.1, 0.4, 0.3], [0.02, 0.03, 0.05], ci="hksj")
    assert report.primary.analysis == ("primary: random-effects (REML), "
                                       "Hartung-Knapp-Sidik-Jonkman interval")
    (ci_row,) = _by_kind(report, "ci-method")
    assert ci_row.analysis == "random-effects (REML), Wald (normal) interval"
    (model,) = _by_kind(report, "model")
    assert model.analysis == "common-effect, Hartung-Knapp-Sidik-Jonkman interval"
    assert report.primary.analysis not in [r.analysis for r in report.rows]


def test_direction_flip_is_found_and_said():
    # Two small negative studies and one positive: the pooled mean (equal weights) is +0.6, and
    # leaving out the positive study gives -0.1.
    report = sensitivity_analyses([-0.1, -0.1, 2.0], [0.01] * 3, method="FE",
                                  labels=["x", "y", "z"])
    assert report.primary.estimate == pytest.approx(0.6)
    check = report.direction_check()
    assert check.flipped
    assert check.flips == ("leave-one-out, lowest: without z",)
    assert "flips under 'leave-one-out, lowest: without z'" in check.sentence
    assert "flips" in report.summary()


def test_robust_result_says_nothing_changes():
    report = sensitivity_analyses([0.5, 0.6, 0.55, 0.52], [0.01] * 4)
    check = report.direction_check()
    assert not check.flipped and not check.loses_significance and not check.gains_significance
    assert check.sentence == ""
    assert "hold under every analysis" in report.summary()


def test_losing_and_gaining_significance_are_told_apart_from_a_flip():
    primary = SensitivityRow("primary", 0.5, 0.1, 0.9, 5, "primary")
    rows = (SensitivityRow("wide", 0.4, -0.1, 0.9, 5, "ci-method"),
            SensitivityRow("other side", -0.2, -0.5, 0.1, 4, "leave-one-out"))
    check = direction_check(primary, rows)
    assert check.flips == ("other side",)
    assert check.loses_significance == ("wide", "other side")
    unclear = SensitivityRow("primary", 0.2, -0.1, 0.5, 5, "primary")
    gained = direction_check(unclear, (SensitivityRow("fe", 0.2, 0.05, 0.35, 5, "model"),))
    assert gained.gains_significance == ("fe",) and not gained.flips
    assert "excludes no effect under 'fe'" in gained.sentence
    # on the natural scale of a ratio, no effect is 1
    ratio = direction_check(SensitivityRow("p", 0.8, 0.7, 0.9, 3, "primary"),
                            (SensitivityRow("q", 1.1, 0.9, 1.3, 2, "model"),), null=1.0)
    assert ratio.flips == ("q",)


def test_risk_of_bias_exclusion_refits_on_the_others_and_names_them():
    y, v = [0.2, 0.4, 0.9, 1.0], [0.05, 0.05, 0.05, 0.05]
    report = sensitivity_analyses(y, v, method="FE", labels=list("abcd"),
                                  high_risk=[False, False, True, True])
    (row,) = _by_kind(report, "risk-of-bias")
    half = Z975 * math.sqrt(0.05 / 2)
    _close(row, 0.3, 0.3 - half, 0.3 + half)
    assert row.k == 2 and row.note == "without c, d"


@pytest.mark.parametrize("flags, note", [
    (None, "risk of bias not given"),
    ([False, False, False], "no study is at high risk of bias"),
    ([True, True, True], "every study is at high risk of bias"),
])
def test_risk_of_bias_analysis_that_cannot_run_is_noted_not_hidden(flags, note):
    report = sensitivity_analyses([0.1, 0.2, 0.3], [0.1] * 3, high_risk=flags)
    assert not _by_kind(report, "risk-of-bias")
    assert any(note in n for n in report.notes), report.notes
    assert note in report.summary()


def test_one_study_gives_only_what_one_study_can():
    report = sensitivity_analyses([0.3], [0.04])
    assert report.rows == ()
    assert report.primary.estimate == pytest.approx(0.3) and report.primary.k == 1
    assert any("leave-one-out needs at least 2" in n for n in report.notes)
    assert any("one study" in n for n in report.notes)


def test_studies_without_an_effect_are_left_out_of_every_row_with_one_warning():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = sensitivity_analyses([0.1, math.nan, 0.3, 0.2], [0.1, 0.1, 0.1, 0.1],
                                      labels=list("abcd"), high_risk=[True, True, False, False])
    missing = [w for w in caught if issubclass(w.category, MissingDataWarning)]
    assert len(missing) == 1 and "b" in str(missing[0].message)
    assert report.primary.k == 3
    assert {r.k for r in _by_kind(report, "leave-one-out")} == {2}
    assert _by_kind(report, "risk-of-bias")[0].k == 2


def test_rows_carry_the_contract_keys_and_serialise():
    report = sensitivity_analyses([0.1, 0.5, 0.3], [0.02, 0.03, 0.05],
                                  high_risk=[True, False, False])
    payload = report.to_list()
    assert payload and all(tuple(d)[:5] == CONTRACT_KEYS for d in payload)
    assert json.loads(jsonout.dumps({"sensitivity": payload}))["sensitivity"] == payload
    frame = report.to_frame()
    assert list(frame["analysis"]) == [report.primary.analysis] + [r.analysis for r in report.rows]
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.rows = ()  # type: ignore[misc]


def test_effect_sizes_result_is_accepted_with_its_measure_and_labels():
    es = effect_sizes("MD", m1i=[5.0, 6.0], sd1i=[2.0, 2.0], n1i=[20, 30],
                      m2i=[4.0, 4.5], sd2i=[2.0, 2.0], n2i=[20, 30], labels=["s1", "s2"])
    report = sensitivity_analyses(es)
    assert report.measure == "MD" and report.null == 0.0
    assert {r.analysis for r in _by_kind(report, "leave-one-out")} == {
        "leave-one-out, lowest: without s2", "leave-one-out, highest: without s1"}


@pytest.mark.parametrize("kwargs, match", [
    ({"high_risk": [True]}, "one flag per study"),
    ({"high_risk": ["yes", "no", "no"]}, "must be True"),
    ({"labels": ["a"]}, "one entry per study"),
    ({"prepost": {"m1i": [1, 2, 3]}}, "apply to SMCC, SMCR only"),
    ({"method": "XX"}, "unknown method"),
    ({"ci": "profile"}, "unknown ci"),
    ({"assumed_ri": (0.5, 1.5)}, r"\[-1, 1\]"),
])
def test_bad_input_is_a_clear_input_error(kwargs, match):
    with pytest.raises(InputError, match=match):
        sensitivity_analyses([0.1, 0.2, 0.3], [0.1] * 3, **kwargs)


def test_mismatched_lengths_and_missing_variances_are_input_errors():
    with pytest.raises(InputError, match="same length"):
        sensitivity_analyses([0.1, 0.2], [0.1])
    with pytest.raises(InputError, match="needs vi"):
        sensitivity_analyses([0.1, 0.2])
    with pytest.raises(InputError, match="prepost"):
        sensitivity_analyses([0.1, 0.2], [0.1, 0.1], measure="SMCR",
                             prepost={"m1i": [1.0, 2.0, 3.0]})


# ---------------------------------------------------------------------------------------------
# against R metafor


def test_ratio_measure_rows_match_metafor_on_the_natural_scale():
    case = REFERENCE["bcg_RR"]
    ref = case["results"]
    report = sensitivity_analyses(case["yi"], case["vi"], measure="RR", labels=case["labels"],
                                  high_risk=case["high_risk"])
    assert report.null == 1.0
    r = ref["REML_wald"]
    _close(report.primary, r["estimate"], r["ci_low"], r["ci_high"], ratio=True)
    for kind, key in (("model", "FE_wald"), ("ci-method", "REML_hksj"),
                      ("risk-of-bias", "REML_wald_low_risk_only")):
        (row,) = _by_kind(report, kind)
        r = ref[key]
        _close(row, r["estimate"], r["ci_low"], r["ci_high"], ratio=True)
        assert row.k == r["k"]
    loo = ref["REML_wald_leave1out"]
    low_i, high_i = int(np.argmin(loo["estimate"])), int(np.argmax(loo["estimate"]))
    low, high = _by_kind(report, "leave-one-out")
    for row, i in ((low, low_i), (high, high_i)):
        _close(row, loo["estimate"][i], loo["ci_low"][i], loo["ci_high"][i], ratio=True)
        assert row.analysis.endswith("without " + case["labels"][i])
    assert np.allclose(report.leave_one_out["ci_low"], loo["ci_low"], atol=TOL)


def test_common_effect_primary_swaps_to_random_effects_and_hksj_as_metafor():
    case = REFERENCE["bcg_RR"]
    ref = case["results"]
    report = sensitivity_analyses(case["yi"], case["vi"], measure="RR", method="FE")
    _close(report.primary, ref["FE_wald"]["estimate"], ref["FE_wald"]["ci_low"],
           ref["FE_wald"]["ci_high"], ratio=True)
    (model,) = _by_kind(report, "model")
    assert model.analysis == "random-effects (REML), Wald (normal) interval"
    _close(model, ref["REML_wald"]["estimate"], ref["REML_wald"]["ci_low"],
           ref["REML_wald"]["ci_high"], ratio=True)
    (ci_row,) = _by_kind(report, "ci-method")
    _close(ci_row, ref["FE_hksj"]["estimate"], ref["FE_hksj"]["ci_low"],
           ref["FE_hksj"]["ci_high"], ratio=True)


@pytest.mark.parametrize("measure", ["SMCR", "SMCC"])
@pytest.mark.parametrize("ci", ["wald", "hksj"])
def test_correlation_sweep_matches_metafor_and_keeps_reported_correlations(measure, ci):
    case = REFERENCE[f"prepost_{measure}"]
    d = case["inputs"]
    ri = [math.nan if r is None else r for r in d["ri_reported"]]
    prepost = {"m1i": d["m_post"], "m2i": d["m_pre"], "ni": d["ni"], "ri": ri}
    if measure == "SMCR":
        prepost["sd1i"] = d["sd_pre"]
    else:
        prepost["sd1i"], prepost["sd2i"] = d["sd_post"], d["sd_pre"]
    es = effect_sizes(measure, assumed_ri=0.5, labels=d["study"], **prepost)
    report = sensitivity_analyses(es, prepost=prepost, ci=ci)
    rows = _by_kind(report, "correlation")
    assert [row.analysis for row in rows] == [f"pre-post correlation {r:g} assumed"
                                              for r in DEFAULT_ASSUMED_RI]
    key = "REML_wald" if ci == "wald" else "REML_hksj"
    for row, r in zip(rows, DEFAULT_ASSUMED_RI):
        ref = case["sweep"][f"{r:.1f}"][key]
        _close(row, ref["estimate"], ref["ci_low"], ref["ci_high"])
        assert row.k == ref["k"] == 6
        assert row.note == "assumed for 2 of 6 studies"
    # the primary analysis assumed 0.5: the 0.5 row is the primary fit
    assert rows[1].estimate == pytest.approx(report.primary.estimate, abs=TOL)


def test_correlation_sweep_not_run_is_said():
    es = effect_sizes("SMCR", m1i=[3.0, 4.0], m2i=[5.0, 5.5], sd1i=[1.5, 2.0], ni=[20, 30],
                      ri=[0.5, 0.6])
    report = sensitivity_analyses(es)
    assert any("pre-post inputs" in n for n in report.notes)
    reported = sensitivity_analyses(es, prepost={"m1i": [3.0, 4.0], "m2i": [5.0, 5.5],
                                                 "sd1i": [1.5, 2.0], "ni": [20, 30],
                                                 "ri": [0.5, 0.6]})
    assert not _by_kind(reported, "correlation")
    assert any("every study reports its pre-post correlation" in n for n in reported.notes)


# ---------------------------------------------------------------------------------------------
# from a certainty rating


def _item(record, benefit, low, high, rob="low", sign=-1):
    return SimpleNamespace(record=record, benefit=benefit, benefit_low=low, benefit_high=high,
                           risk_of_bias=rob, sign=sign)


def test_a_rating_pooled_here_is_re_run_on_the_claims_scale():
    # benefit scale: positive is better; these MDs are "lower is better" (sign -1), so the
    # estimates on the reported scale are -2 and -1 with 95% CIs of half-width 0.5 and 1.
    half1, half2 = 0.5, 1.0
    items = (_item("a#m", 2.0, 2.0 - half1, 2.0 + half1),
             _item("b#m", 1.0, 1.0 - half2, 1.0 + half2, rob="high"),
             _item("c#m", 1.5, 1.0, 2.0))
    main = SimpleNamespace(source="meta-analysis", records=("a#m", "b#m", "c#m"), measure="MD")
    report = for_rating(SimpleNamespace(main=main, items=items))
    v = [(h / Z975) ** 2 for h in (half1, half2, 0.5)]
    expected = sensitivity_analyses([-2.0, -1.0, -1.5], v, measure="MD",
                                    labels=["a#m", "b#m", "c#m"], high_risk=[False, True, False])
    assert report.to_list() == expected.to_list()
    assert report.primary.estimate < 0
    assert _by_kind(report, "risk-of-bias")[0].note == "without b#m"


def test_a_rating_that_keeps_its_effect_sizes_is_re_run_on_them_with_its_methods():
    items = (_item("a#m", 0, 0, 0), _item("b#m", 0, 0, 0, rob="high"), _item("c#m", 0, 0, 0))
    main = SimpleNamespace(source="meta-analysis", records=("a#m", "b#m", "c#m"), measure="RR",
                           yi=(-0.5, -0.1, -0.3), vi=(0.04, 0.09, 0.05), method="REML",
                           ci_method="hksj")
    report = for_rating(SimpleNamespace(main=main, items=items))
    expected = sensitivity_analyses([-0.5, -0.1, -0.3], [0.04, 0.09, 0.05], measure="RR",
                                    labels=["a#m", "b#m", "c#m"], high_risk=[False, True, False],
                                    ci="hksj")
    assert report.to_list() == expected.to_list()
    assert report.ci_method == "hksj" and report.null == 1.0


def test_a_claim_gets_the_list_and_the_sentence_of_a_flip():
    items = (_item("x#m", 0, 0, 0), _item("y#m", 0, 0, 0), _item("z#m", 0, 0, 0))
    main = SimpleNamespace(source="meta-analysis", records=("x#m", "y#m", "z#m"), measure="MD",
                           yi=(-0.1, -0.1, 2.0), vi=(0.01, 0.01, 0.01), method="FE",
                           ci_method="wald")
    entries, sentence = for_claim(SimpleNamespace(main=main, items=items))
    assert [e["analysis"] for e in entries][0] == "leave-one-out, lowest: without z#m"
    assert sentence.startswith("The direction of the effect flips under 'leave-one-out, lowest")
    single = SimpleNamespace(source="single-study", records=("x#m",), measure="MD")
    assert for_claim(SimpleNamespace(main=single, items=items[:1])) == ([], "")


def test_a_rating_not_pooled_here_has_no_sensitivity_analyses():
    for source in ("review-pooled", "single-study"):
        main = SimpleNamespace(source=source, records=("a#m",), measure="MD")
        assert for_rating(SimpleNamespace(main=main, items=(_item("a#m", 1, 0, 2),))) is None
    assert for_rating(SimpleNamespace(main=None, items=())) is None


def test_the_primary_row_is_the_ratings_own_pooled_estimate():
    from evidencekit.grade.certainty import rate_certainty
    from evidencekit.evidence.records import (Arm, ArmSummary, ArmSummaryResult, ImportantEffect, Outcome,
                                     Population, Provenance, Question, QuestionEvidence,
                                     RiskOfBias, Study)

    prov = Provenance(source="test fixture", quote="made up for a unit test")
    arms = (Arm(id="dn", label="DN", role="intervention", intervention="needling"),
            Arm(id="sham", label="Sham", role="comparator", intervention="sham", sham=True))

    def trial(sid, mean, rob):
        result = ArmSummaryResult(id="m", outcome="pain", time_point="4 weeks",
                                  contrast="between-groups", direction="benefit", provenance=prov,
                                  arms=(ArmSummary(arm="dn", mean=mean, sd=2.0, n=60),
                                        ArmSummary(arm="sham", mean=5.0, sd=2.0, n=60)))
        return Study(id=sid, short_title=f"Trial {sid}", design="randomised-trial",
                     randomised=True,
                     population=Population(description="adults", n=120, provenance=prov),
                     arms=arms, outcomes=(Outcome(id="pain", domain="pain", scale="0-10",
                                                  better="lower", instrument="VAS"),),
                     results=(result,),
                     risk_of_bias=RiskOfBias(tool="RoB 2", overall=rob, reason="test"))

    studies = {s.id: s for s in (trial("t1", 3.0, "low"), trial("t2", 4.0, "high"),
                                 trial("t3", 2.5, "low"))}
    q = Question(id="q", title="Does it help pain?", population="adults", intervention="needling",
                 comparator="sham", outcome="pain", outcome_domains=("pain",),
                 time_window="in the first weeks",
                 important_effect=ImportantEffect(value=1.0, scale="points on a 0-10 scale",
                                                  author_judgement=True),
                 evidence=tuple(QuestionEvidence(study=s, results=("m",)) for s in studies))
    rating = rate_certainty(q, SimpleNamespace(studies=studies, study=studies.__getitem__))
    assert rating.synthesis == "meta-analysis"
    report = for_rating(rating)
    assert report.primary.estimate == pytest.approx(rating.main.estimate, abs=1e-9)
    assert report.primary.ci_low == pytest.approx(rating.main.ci_low, abs=1e-9)
    assert report.primary.ci_high == pytest.approx(rating.main.ci_high, abs=1e-9)
    assert _by_kind(report, "risk-of-bias")[0].k == 2
