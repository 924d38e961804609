"""Clinician decisions as data (evidencekit.grade.decisions): read, validated, applied and disclosed."""
from __future__ import annotations

import dataclasses

import pytest
import yaml

from evidencekit.grade import rating
from evidencekit.grade.decisions import (DOMAINS, Decisions, DecisionsError, Exclusion, Override,
                                         parse_decisions, validate_decisions)
from evidencekit.grade.disclosure import (CAVEAT_DOMAINS, apply_exclusions, apply_overrides,
                                          compare_ratings, pair_caveats)
from evidencekit.errors import InputError
from evidencekit.evidence.records import CaveatKind

QUESTION_YAML = """\
id: neck-pain
title: Does it help neck pain?
overrides:
  imprecision:
    change: 0
    reason: Both trials' intervals exclude the important threshold
    decided_by: the review team
exclude:
  - study: smith2020
    reason: Retracted in 2024
    decided_by: the review team
  - study: lee2021
    result: pain-12w
    reason: Outcome switched after registration
    decided_by: A. Clinician
"""
KNOWN = {"smith2020": ["pain-4w"], "lee2021": ["pain-4w", "pain-12w"], "ng2019": []}


def _decisions() -> Decisions:
    return parse_decisions(yaml.safe_load(QUESTION_YAML), only_decision_keys=True,
                           known_studies=KNOWN)


# ---------------------------------------------------------------------------------------------
# reading


def test_a_question_mapping_is_read_with_its_overrides_and_exclusions():
    d = _decisions()
    assert d.overrides == (Override("imprecision", 0, "Both trials' intervals exclude the "
                                    "important threshold", "the review team"),)
    assert [e.record for e in d.exclusions] == ["smith2020", "lee2021#pain-12w"]
    assert d.exclusions[1].decided_by == "A. Clinician"
    assert d.override("Imprecision") is d.overrides[0]
    assert d.certainty_overrides() == {"imprecision": (
        0, "Both trials' intervals exclude the important threshold (decided by the review "
           "team)")}
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.overrides = ()  # type: ignore[misc]


def test_round_trip_and_table():
    d = _decisions()
    assert parse_decisions(d.to_dict(), known_studies=KNOWN) == d
    frame = d.to_frame()
    assert list(frame["kind"]) == ["override", "exclude", "exclude"]
    assert list(frame["target"]) == ["imprecision", "smith2020", "lee2021#pain-12w"]
    assert "imprecision: not rated down, by the review team" in d.summary()


def test_no_decisions_is_empty_and_says_so():
    for data in (None, {}):
        d = parse_decisions(data)
        assert not d and d.overrides == () and d.exclusions == ()
    assert "No decisions" in Decisions().summary()


def test_domain_spellings_are_one_domain():
    d = parse_decisions({"overrides": {"Risk_of_bias": {"change": -1, "reason": "Unblinded",
                                                        "decided_by": "R. T."}}})
    assert d.overrides[0].domain == "risk-of-bias"
    assert d.override("risk of bias") is d.overrides[0]


def test_the_domains_are_those_the_rating_engine_can_override():
    assert set(DOMAINS) == set(rating.OVERRIDABLE)


def test_every_caveat_kind_maps_to_a_known_domain_or_none():
    kinds = set(CaveatKind.__args__)
    assert set(CAVEAT_DOMAINS) <= kinds
    assert set(CAVEAT_DOMAINS.values()) <= set(DOMAINS)


@pytest.mark.parametrize("data, field, words", [
    ({"overrides": {"imprecison": {"change": 0, "reason": "x y", "decided_by": "t"}}},
     "overrides.imprecison", "did you mean 'imprecision'"),
    ({"overrides": {"imprecision": {"change": 0, "decided_by": "t"}}},
     "overrides.imprecision.reason", "reason is required"),
    ({"overrides": {"imprecision": {"change": 0, "reason": "   ", "decided_by": "t"}}},
     "overrides.imprecision.reason", "reason is required"),
    ({"overrides": {"imprecision": {"change": 0, "reason": "...", "decided_by": "t"}}},
     "overrides.imprecision.reason", "says nothing"),
    ({"overrides": {"imprecision": {"change": 0, "reason": "Narrow CI"}}},
     "overrides.imprecision.decided_by", "decided_by is required"),
    ({"overrides": {"imprecision": {"change": 1, "reason": "Narrow CI", "decided_by": "t"}}},
     "overrides.imprecision.change", "from -2 to 0"),
    ({"overrides": {"large-effect": {"change": -1, "reason": "No", "decided_by": "t"}}},
     "overrides.large-effect.change", "from 0 to 2"),
    ({"overrides": {"imprecision": {"change": True, "reason": "Narrow", "decided_by": "t"}}},
     "overrides.imprecision.change", "whole number"),
    ({"overrides": {"imprecision": {"change": 0, "reason": "Narrow", "decided_by": "t",
                                    "decided": "x"}}},
     "overrides.imprecision.decided", "unknown field 'decided'"),
    ({"overrides": {"imprecision": (0, "Narrow")}},
     "overrides.imprecision", "a mapping with change, reason and decided_by"),
    ({"overrides": {"imprecision": {"change": 0, "reason": "A", "decided_by": "t"},
                    "Imprecision": {"change": -1, "reason": "B", "decided_by": "t"}}},
     "overrides.Imprecision", "overridden twice"),
    ({"exclude": [{"study": "smyth2020", "reason": "Retracted", "decided_by": "t"}]},
     "exclude[0].study", "unknown study id 'smyth2020' (did you mean 'smith2020'?)"),
    ({"exclude": [{"study": "lee2021", "result": "pain-12", "reason": "Switched",
                   "decided_by": "t"}]},
     "exclude[0].result", "lee2021 has no result 'pain-12'"),
    ({"exclude": [{"study": "ng2019", "reason": "Retracted"}]},
     "exclude[0].decided_by", "decided_by is required"),
    ({"exclude": {"study": "ng2019"}}, "exclude", "must be a list"),
    ({"exclude": ["ng2019"]}, "exclude[0]", "each exclusion is a mapping"),
    ({"exclude": [{"study": "ng2019", "reason": "A reason", "decided_by": "t"},
                  {"study": "ng2019", "reason": "Again", "decided_by": "t"}]},
     "exclude[1]", "excluded twice"),
    ({"overide": {}}, "overide", "did you mean 'overrides'"),
])
def test_bad_decisions_name_the_file_field_and_fix(data, field, words):
    messages = validate_decisions(data, file="evidence/questions.yaml", known_studies=KNOWN)
    assert messages, "expected a problem"
    assert any(m.field == field and words in m.message for m in messages), messages
    assert all(m.file == "evidence/questions.yaml" for m in messages)
    with pytest.raises(DecisionsError) as caught:
        parse_decisions(data, file="evidence/questions.yaml", known_studies=KNOWN)
    assert isinstance(caught.value, InputError)
    assert caught.value.file == "evidence/questions.yaml"
    assert words in str(caught.value)


def test_every_problem_is_reported_at_once_with_the_field_prefix_and_lines():
    data = {"overrides": {"imprecision": {"change": 5}},
            "exclude": [{"study": "nobody", "reason": "", "decided_by": ""}]}
    messages = validate_decisions(data, file="q.yaml", field="questions[2]",
                                  known_studies=KNOWN,
                                  lines={"questions[2].overrides": 10, "questions[2].exclude": 14})
    fields = {m.field for m in messages}
    assert {"questions[2].overrides.imprecision.change",
            "questions[2].overrides.imprecision.reason",
            "questions[2].overrides.imprecision.decided_by",
            "questions[2].exclude[0].study", "questions[2].exclude[0].reason",
            "questions[2].exclude[0].decided_by"} <= fields
    lines = {m.field: m.line for m in messages}
    assert lines["questions[2].overrides.imprecision.change"] == 10
    assert lines["questions[2].exclude[0].study"] == 14
    assert str(messages[0]).startswith("q.yaml:10 [questions[2].overrides")


def test_unknown_ids_are_not_checked_without_the_known_ids():
    d = parse_decisions({"exclude": [{"study": "anyone2000", "reason": "Duplicate report",
                                      "decided_by": "t"}]})
    assert d.exclusions[0].study == "anyone2000"


def test_other_question_keys_are_reported_unless_asked_to_ignore_them():
    data = yaml.safe_load(QUESTION_YAML)
    assert any(m.field == "title" for m in validate_decisions(data, known_studies=KNOWN))
    assert not validate_decisions(data, known_studies=KNOWN, only_decision_keys=True)


# ---------------------------------------------------------------------------------------------
# applying overrides


def test_an_override_that_raises_the_level_is_disclosed_with_who_and_why():
    computed = {"risk-of-bias": (0, "low risk"), "imprecision": (-1, "only 80 people")}
    outcome = apply_overrides("high", computed, _decisions())
    assert (outcome.level_before, outcome.level_after) == ("moderate", "high")
    assert outcome.level_changed
    (change,) = outcome.changes
    assert (change.computed, change.decided, change.changed) == (-1, 0, True)
    assert outcome.disclosures[0] == (
        "Certainty raised from moderate to high by the review team: Both trials' intervals "
        "exclude the important threshold.")
    assert outcome.disclosures[1] == (
        "Imprecision not rated down by the review team (the rules: rated down one level, only "
        "80 people): Both trials' intervals exclude the important threshold.")
    assert list(outcome.to_frame()["domain"]) == ["imprecision"]
    assert "moderate -> high" in outcome.summary()


def test_an_override_that_lowers_the_level_names_every_decider():
    d = parse_decisions({"overrides": {
        "risk-of-bias": {"change": -1, "reason": "Assessors were not blinded",
                         "decided_by": "Dr A"},
        "indirectness": {"change": -1, "reason": "Volunteers, not patients", "decided_by": "Dr B"},
    }})
    outcome = apply_overrides("high", {}, d)
    assert (outcome.level_before, outcome.level_after) == ("high", "low")
    assert outcome.disclosures[0] == (
        "Certainty lowered from high to low by Dr A and Dr B: risk of bias: Assessors were not "
        "blinded; indirectness: Volunteers, not patients.")


def test_an_override_that_leaves_the_level_is_still_disclosed():
    d = parse_decisions({"overrides": {"imprecision": {
        "change": -1, "reason": "Agree: too few people", "decided_by": "the review team"}}})
    outcome = apply_overrides("moderate", {"imprecision": -1}, d)
    assert not outcome.level_changed
    assert outcome.disclosures[0].startswith("Certainty stays low after the judgement of the "
                                             "review team")
    assert "confirmed by the review team" in outcome.disclosures[1]


def test_levels_stay_on_the_ladder_and_under_a_cap():
    up = parse_decisions({"overrides": {"imprecision": {"change": 0, "reason": "Narrow CI",
                                                        "decided_by": "t"}}})
    # four levels down from high is still very low; one back is still very low
    steps = {"risk-of-bias": -2, "indirectness": -2, "imprecision": -1}
    assert apply_overrides("high", steps, up).level_after == "very low"
    capped = apply_overrides("high", {"imprecision": -1}, up, cap="low")
    assert (capped.level_before, capped.level_after) == ("low", "low")


def test_rating_steps_are_accepted_as_they_come_from_the_rating_engine():
    steps = (rating.CertaintyStep("risk-of-bias", -1, "unblinded"),
             rating.CertaintyStep("imprecision", -1, "wide CI"))
    outcome = apply_overrides("high", steps, _decisions())
    assert (outcome.level_before, outcome.level_after) == ("low", "moderate")
    assert "wide CI" in outcome.disclosures[1]


def test_two_ratings_from_the_engine_are_compared_with_its_own_levels():
    from types import SimpleNamespace

    before = SimpleNamespace(level="low", steps=(
        rating.CertaintyStep("risk-of-bias", -1, "unblinded"),
        rating.CertaintyStep("imprecision", -1, "only 80 people")))
    after = SimpleNamespace(level="moderate", steps=())
    outcome = compare_ratings(before, after, _decisions())
    assert (outcome.level_before, outcome.level_after) == ("low", "moderate")
    assert outcome.changes[0].computed == -1 and outcome.changes[0].computed_reason == (
        "only 80 people")
    assert outcome.disclosures[0].startswith("Certainty raised from low to moderate by the "
                                             "review team")


def test_the_engine_applies_the_overrides_and_the_comparison_discloses_them():
    # the rating engine of today takes {domain: (change, reason)}
    from test_certainty import estimate, question, rate, study

    trial = study("t", n=60, results=[estimate(est=-2.0, lo=-3.5, hi=-0.5)])
    q = question([("t", ["r1"], None)])
    before = rate([trial], q)
    decisions = parse_decisions({"overrides": {"imprecision": {
        "change": 0, "reason": "The interval excludes no effect", "decided_by": "Dr A"}}})
    after = rate([trial], q, overrides=decisions.certainty_overrides())
    outcome = compare_ratings(before, after, decisions)
    assert outcome.level_after == after.level
    assert any(s.override and "decided by Dr A" in s.reason for s in after.steps)
    assert all("Dr A" in d for d in outcome.disclosures)


def test_steps_as_numpy_integers_and_unoverridable_rules_are_kept():
    import numpy as np

    outcome = apply_overrides("high", {"imprecision": np.int64(-1), "synthesis": (-1, "cap")},
                              _decisions())
    assert (outcome.level_before, outcome.level_after) == ("low", "moderate")


def test_bad_levels_are_input_errors():
    with pytest.raises(InputError, match="not a certainty level"):
        apply_overrides("very high", {}, Decisions())
    with pytest.raises(InputError, match="not a certainty level"):
        apply_overrides("high", {}, Decisions(), cap="medium")


def test_no_overrides_disclose_nothing():
    outcome = apply_overrides("high", {"imprecision": -1}, Decisions())
    assert outcome.disclosures == () and outcome.level_before == outcome.level_after == "moderate"


# ---------------------------------------------------------------------------------------------
# applying exclusions


def test_exclusions_cover_a_whole_study_or_one_result():
    records = ["smith2020#pain-4w", "lee2021#pain-4w", "lee2021#pain-12w", "ng2019"]
    outcome = apply_exclusions(records, _decisions())
    assert outcome.kept == ("lee2021#pain-4w", "ng2019")
    assert [r for r, _ in outcome.excluded] == ["smith2020#pain-4w", "lee2021#pain-12w"]
    assert outcome.disclosures == (
        "smith2020 excluded by the review team: Retracted in 2024.",
        "Result pain-12w of lee2021 excluded by A. Clinician: Outcome switched after "
        "registration.")
    assert outcome.unused == ()
    assert list(outcome.to_frame()["excluded_by"]) == ["smith2020", "lee2021#pain-12w"]


def test_an_exclusion_matching_nothing_is_reported_as_unused():
    outcome = apply_exclusions(["ng2019"], _decisions())
    assert outcome.kept == ("ng2019",) and not outcome.excluded
    assert [e.record for e in outcome.unused] == ["smith2020", "lee2021#pain-12w"]
    assert "matches no record" in outcome.summary()


def test_study_ids_are_matched_whole_not_by_prefix():
    e = Exclusion(study="lee2021", reason="Retracted", decided_by="t")
    assert e.covers("lee2021") and e.covers("lee2021#x")
    assert not e.covers("lee2021b") and not e.covers("lee2021b#x")


# ---------------------------------------------------------------------------------------------
# caveats beside overrides


def test_a_caveat_contradicting_an_override_is_kept_and_shown_beside_it():
    caveats = [("small-sample", "Only 80 people took part. That is too few to be sure."),
               {"kind": "no-sham", "text": "No sham treatment: people knew what they had."},
               "Results beyond 12 weeks are not known."]
    paired = pair_caveats(caveats, _decisions(), computed={"imprecision": -1})
    assert [p.text for p in paired] == [
        "Only 80 people took part. That is too few to be sure.",
        "No sham treatment: people knew what they had.",
        "Results beyond 12 weeks are not known."]
    first, second, third = paired
    assert first.contradicts and first.domain == "imprecision"
    assert first.shown() == ("Only 80 people took part. That is too few to be sure. "
                             "(Imprecision not rated down by the review team: Both trials' "
                             "intervals exclude the important threshold.)")
    assert second.override is None and not second.contradicts
    assert second.shown() == second.text
    assert third.kind is None and third.domain is None and third.shown() == third.text


def test_an_override_agreeing_with_or_tightening_the_rules_contradicts_nothing():
    d = parse_decisions({"overrides": {"imprecision": {"change": -2, "reason": "Tiny trials",
                                                       "decided_by": "t"}}})
    (p,) = pair_caveats([("small-sample", "Only 20 people took part in all.")], d,
                        computed={"imprecision": -1})
    assert p.override is not None and not p.contradicts
    # without the rules' step, "not serious" on a rating-down domain is read as contradicting
    (q,) = pair_caveats([("small-sample", "Only 20 people took part in all.")], _decisions())
    assert q.contradicts


def test_record_caveats_are_paired_by_their_kind():
    from evidencekit.evidence.records import Caveat

    cav = Caveat(kind="small-sample", text="Only 14 people took part in this trial.")
    (p,) = pair_caveats([cav], _decisions())
    assert p.kind == "small-sample" and p.contradicts
