"""Claim sentences by kind of comparison, mechanism questions and few-study frequencies.

Synthetic libraries only: each rule must hold for any treatment and topic.
"""
from __future__ import annotations

import dataclasses
import re

import pytest

from evidencekit.grade.certainty import rate_certainty
from evidencekit.grade.frequencies import FEW_STUDIES_FOR_POOLED_FREQUENCY, frequency_band
from evidencekit.grade.claims import make_claims
from evidencekit.grade.ladder import max_strength, strength_of
from evidencekit.grade.statements import ACTIVE_COMPARATOR_KINDS, is_mechanism
from evidencekit.evidence.records import ProportionResult

from test_certainty import PROV, estimate, library, outcome, question, study  # noqa: E402

INACTIVE = ("sham-or-placebo", "no-treatment-or-waiting-list")


def _claim(kind, est, lo, hi, *, better="lower", qkind="benefit", comparator="ultrasound therapy",
           intervention="acupuncture", out_text="back pain", domains=("pain",), n=800):
    s = study(n=n, outcomes=[outcome(better=better)],
              results=[estimate(est=est, lo=lo, hi=hi,
                                direction=None if qkind != "harm" else "unclear")])
    q = question([("trial", ["r1"], None)], kind=qkind, intervention=intervention,
                 outcome=out_text, domains=domains, comparator_kind=kind, better=better)
    q = q.model_copy(update={"comparator": comparator})
    lib = library([s], [q])
    return make_claims(lib, by_comparison=True).claims[0], make_claims(lib).get("q")


def _hedged(claim):
    for sentence in re.split(r"(?<=\.)\s+", claim.claim):
        if sentence.startswith("The studies compared it with"):
            continue  # what was compared: a fact about the studies, not an effect
        assert strength_of(sentence) <= max_strength(claim.certainty), claim.claim


@pytest.mark.parametrize("kind", sorted(ACTIVE_COMPARATOR_KINDS))
def test_comparator_doing_better_reads_as_less_effective_not_harm(kind):
    # MD +2 (1 to 3) on a lower-is-better scale: the other treatment reduced pain more.
    for c in _claim(kind, 2.0, 1.0, 3.0):
        assert c.direction == "harm"
        assert "compared it with ultrasound therapy" in c.claim  # the comparator named
        assert re.search(r"(may work|works) less well than the other treatment for back pain", c.claim), c.claim
        assert "increase" not in c.claim and "worse" not in c.claim
        _hedged(c)


@pytest.mark.parametrize("kind", sorted(ACTIVE_COMPARATOR_KINDS))
def test_active_benefit_and_no_difference_name_the_comparator(kind):
    better, _ = _claim(kind, -2.0, -3.0, -1.0)
    assert "better than the other treatment for back pain" in better.claim, better.claim
    same, _ = _claim(kind, -0.1, -0.4, 0.2)
    assert "about as well as the other treatment for back pain" in same.claim, same.claim
    # Higher-is-better outcomes: a lower value is the worse one.
    up, _ = _claim(kind, -2.0, -3.0, -1.0, better="higher", out_text="shoulder movement")
    assert "less well than the other treatment for shoulder movement" in up.claim, up.claim


@pytest.mark.parametrize("kind", INACTIVE + ("add-on",))
def test_worse_than_inactive_control_stays_a_harm_reading(kind):
    c, _ = _claim(kind, 2.0, 1.0, 3.0, comparator="a fake version")
    assert c.direction == "harm"
    assert re.search(r"increases? back pain", c.claim) and "less than" not in c.claim, c.claim
    assert "fake version" in c.claim  # the comparator is still named


def test_very_low_active_comparison_says_which_is_better_is_unknown():
    s = study(outcomes=[outcome()], results=[estimate(est=2.0, lo=1.0, hi=3.0)])
    q = question([("trial", ["r1"], None)], comparator_kind="active", better="lower")
    q = q.model_copy(update={"comparator": "ultrasound therapy"})
    lib = library([s], [q])
    very_low = dataclasses.replace(rate_certainty(q, lib), level="very low")
    c = make_claims(lib, ratings={"q": very_low}).get("q")
    assert c.certainty == "very low"
    assert "do not know if dry needling or the other treatment works better" in c.claim
    assert "compared it with ultrasound therapy" in c.claim and "helps" not in c.claim
    _hedged(c)


def test_mechanism_marked_by_outcome_domain_is_not_worded_as_an_effect():
    s = study(outcomes=[outcome(domain="mechanism")], results=[estimate(est=-2, lo=-3, hi=-1)])
    q = question([("trial", ["r1"], None)], domains=("mechanism",),
                 outcome="muscle nerve signals", intervention="cupping")
    assert is_mechanism(q) and q.kind == "benefit"
    c = make_claims(library([s], [q])).get("q")
    assert "theories" in c.claim and "animals or in a few people" in c.claim
    assert "effect of" not in c.claim and "may reduce" not in c.claim
    assert c.certainty in ("high", "moderate", "low", "very low")  # the contract's values
    _hedged(c)


def _survey(sid, events, total):
    r = ProportionResult(id="events", outcome="ae", time_point="per session",
                         contrast="single-group", comparison="none", comparator_kind="none",
                         events=events, total=total, provenance=PROV)
    return study(sid=sid, design="case-series", n=total, results=[r],
                 outcomes=[outcome(oid="ae", domain="adverse-events", scale=None)])


def _frequency_question(surveys):
    return question([(s.id, ["events"], None) for s in surveys], kind="harm", threshold=None,
                    domains=("adverse-events",), outcome="minor side effects",
                    intervention="cupping", comparator_kind="none", better="lower")


def test_two_precise_surveys_give_each_frequency_and_are_not_rated_down_for_hksj():
    surveys = [_survey("a", 1900, 10000), _survey("b", 3700, 10000)]
    q = _frequency_question(surveys)
    lib = library(surveys, [q])
    rating = rate_certainty(q, lib)
    steps = {s.domain: s for s in rating.steps}
    assert steps["imprecision"].change == 0, steps["imprecision"].reason
    assert steps["inconsistency"].change == 0, steps["inconsistency"].reason
    assert "10.10.4.2" in steps["imprecision"].reason
    c = make_claims(lib).get("q")
    assert "about 19 in 100 people in one study" in c.claim, c.claim
    assert "In another study, it" in c.claim and "about 37 in 100" in c.claim
    # The pooled estimate stays in the contract's effect, with its method named.
    assert c.effect["source"] == "meta-analysis" and c.effect["k"] == 2
    assert c.effect["method"] == "REML" and c.effect["ci_method"] == "hksj"
    _hedged(c)


def test_surveys_in_different_frequency_bands_are_inconsistent():
    surveys = [_survey("a", 20, 10000), _survey("b", 3000, 10000)]
    rating = rate_certainty(_frequency_question(surveys), library(surveys, []))
    step = next(s for s in rating.steps if s.domain == "inconsistency")
    assert step.change == -1 and "frequency bands" in step.reason


def test_zero_events_and_rare_events_in_words():
    surveys = [_survey("a", 0, 7000), _survey("b", 10, 10000)]
    q = _frequency_question(surveys)
    c = make_claims(library(surveys, [q])).get("q")
    assert "in none of 7,000 people in one study" in c.claim, c.claim
    assert "in another" in c.claim
    assert "about 1 in 1,000" in c.claim
    _hedged(c)


def test_many_surveys_keep_the_pooled_rules():
    surveys = [_survey(f"s{i}", 100 + 10 * i, 1000) for i in range(FEW_STUDIES_FOR_POOLED_FREQUENCY)]
    q = _frequency_question(surveys)
    rating = rate_certainty(q, library(surveys, [q]))
    step = next(s for s in rating.steps if s.domain == "imprecision")
    assert "study by study" not in step.reason


def test_frequency_bands():
    assert frequency_band(0.19) == "very common"
    assert frequency_band(0.05) == "common"
    assert frequency_band(0.001) == "uncommon"
    assert frequency_band(0.00005) == "very rare"
