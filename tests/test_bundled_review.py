"""The bundled dry-needling review, held to the corrected source notes of 2026-12-01.

These tests check the *content* of ``evidence/``: that the records say what the notes now print
(comparators, directions, time windows, the harms surveys) and that the claims built from them use
each result only against the comparison it made. They are about this review's data; the rules they
rely on (pooling, certainty, wording) are tested generically elsewhere.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from evidencekit.validation import load_library
from evidencekit.evidence.records import EffectEstimate, NarrativeResult

ROOT = Path(__file__).resolve().parent.parent
EVIDENCE = ROOT / "evidence"


@pytest.fixture(scope="module")
def library():
    return load_library(EVIDENCE)


def _quotes(study) -> list[str]:
    """Every provenance quote of a study (population, arms, results, caveats, conclusion)."""
    found = []
    for holder in (study.population, *study.arms, *study.results, *study.caveats):
        prov = getattr(holder, "provenance", None)
        if prov is not None:
            found.append(prov.quote)
    if study.authors_conclusion is not None:
        found.append(study.authors_conclusion.text)
    return found


# --- records: what the corrected notes changed ---------------------------------------------------


def test_lew2021_is_a_comparison_with_trigger_point_manual_therapy(library):
    lew = library.study("lew2021")
    assert lew.results, "Lew 2021 has pooled results"
    for result in lew.results:
        assert "manual therapy" in (result.comparison or ""), result.id
    assert not any(arm.sham for arm in lew.arms), "Lew 2021 had no sham arm"
    assert any("manual therapy" in arm.intervention.lower() and arm.role == "comparator"
               for arm in lew.arms)
    assert "Neither is more superior than the other" in lew.authors_conclusion.text


def test_liu2015_pain_medium_term_and_other_therapies_favoured(library):
    liu = library.study("liu2015")
    outcome = liu.outcome("main-outcome")
    assert outcome.domain == "pain" and outcome.better == "lower"
    other = liu.result("vs-other-therapies")
    assert isinstance(other, EffectEstimate)
    assert "9-28 days" in other.time_point
    assert "other therapies" in other.comparison
    # SMD > 0 with its whole CI above 0 on a lower-is-better outcome: the other therapies did better.
    assert other.estimate > 0 and other.ci_low > 0
    medium = liu.result("vs-sham-medium-term")
    assert "9-28 days" in medium.time_point


def test_navarrosantana2021_carries_the_small_short_term_shoulder_pain_effect(library):
    study = library.study("navarrosantana2021")
    smd = [r for r in study.results if isinstance(r, EffectEstimate) and r.measure == "SMD"
           and study.outcome(r.outcome).domain == "pain"]
    assert len(smd) == 1
    (pain,) = smd
    assert (pain.estimate, pain.ci_low, pain.ci_high) == (-0.25, -0.42, -0.09)
    assert "short term" in pain.time_point
    assert "shoulder" in study.population.condition
    assert "comparison group" in pain.comparison


def test_navarrosantana2020_mixed_comparator_is_not_recorded_as_sham(library):
    study = library.study("navarrosantana2020")
    assert not any(arm.sham for arm in study.arms)
    statements = [r.statement for r in study.results if isinstance(r, NarrativeResult)]
    assert "No differences in comparison with other physical therapy interventions were observed." \
        in statements
    assert "neck pain" in study.population.condition


def test_gattie2017_any_musculoskeletal_pain_function_vs_control_sham_only(library):
    study = library.study("gattie2017")
    assert "any musculoskeletal pain" in study.population.condition
    function = {r.id: r for r in study.results if study.outcome(r.outcome).domain == "function"}
    assert "control/sham" in function["function-vs-control-sham"].comparison
    assert function["function-vs-other-treatments"].statement.startswith("Compared to other")
    assert any("heterogeneity" in q for q in _quotes(study))


def test_hernandezsecorun2023_reports_no_serious_adverse_effects(library):
    study = library.study("hernandezsecorun2023")
    harms = [r for r in study.results if study.outcome(r.outcome).domain == "adverse-events"]
    assert [r.provenance.quote for r in harms] == ["No serious adverse effects were reported."]


def test_domingo2013_quotes_only_what_the_source_prints(library):
    study = library.study("domingo2013")
    for holder in (study.population, *study.results):
        prov = holder.provenance
        if prov is None:
            continue
        # The note-writer's description, not the paper's words: never inside a quote.
        assert "15 punctures" not in prov.quote and "healthy mouse" not in prov.quote
    assert "15 punctures" in (study.population.provenance.inference or "")


@pytest.mark.parametrize("key, numbers", [
    ("brady2014", ("1463", "7629")),
    ("boyce2020", ("7,531", "20,464", "20,494")),
])
def test_harms_surveys_are_recorded_with_their_counts_and_caveats(library, key, numbers):
    study = library.study(key)
    assert study.design == "case-series"
    assert all(arm.role == "single-group" for arm in study.arms)
    quotes = " ".join(_quotes(study))
    for number in numbers:
        assert number in quotes, number
    caveats = " ".join(c.text for c in study.caveats)
    assert "therapists" in caveats and "patients" in caveats
    assert "no group without dry needling" in caveats.lower()
    assert study.id in library.references


def test_brady2014_one_academy_and_boyce2020_total_mismatch_are_flagged(library):
    brady = " ".join(c.text for c in library.study("brady2014").caveats)
    assert "same dry-needling academy" in brady
    boyce = library.study("boyce2020")
    mismatch = [c for c in boyce.caveats if c.kind == "misreported"]
    assert mismatch and "20,464" in mismatch[0].text and "20,494" in mismatch[0].text
    major = boyce.result("major-events")
    assert "20,494" in major.provenance.quote and "20,464" in major.note


def test_no_record_quotes_a_number_the_notes_do_not_print():
    """Every percentage or count in a harms quote is in the notes (a guard against retyping)."""
    notes = (ROOT / "tests" / "data" / "sources" / "REVIEWS.md").read_text(encoding="utf-8")
    lib = load_library(EVIDENCE)
    for key in ("brady2014", "boyce2020"):
        for quote in _quotes(lib.study(key)):
            for number in re.findall(r"\d[\d,.]*%?", quote):
                assert number.rstrip(".,") in notes, (key, number)


# --- questions and claims: each result used only against the comparison it made ---------------


@pytest.fixture(scope="module")
def claims(library):
    from evidencekit import make_claims

    # As `evidencekit claims` and the build (build/claims.json) make them: one per comparison.
    return [c.to_dict() for c in make_claims(library, by_comparison=True)]


def _cited(claim) -> set[str]:
    return {*claim["citations"], *(claim.get("contrary_citations") or ()),
            *(r.split("#")[0] for r in claim["records"])}


def test_every_question_makes_one_kind_of_comparison(library):
    """A question lists only results of one comparator kind, so nothing is pooled or counted
    across sham, no-treatment, add-on and active comparisons."""
    from evidencekit.grade.comparisons import split_by_comparison

    for qid, question in library.questions.items():
        kinds = [c.kind for c in split_by_comparison(question, library)]
        assert len(kinds) == 1, (qid, kinds)
        if question.comparator_kind is not None:
            assert kinds == [question.comparator_kind], qid


def test_every_claim_citing_lew2021_is_about_manual_therapy(claims):
    citing = [c for c in claims if "lew2021" in _cited(c)]
    assert citing
    for c in citing:
        assert "manual therapy" in c["comparison"], (c["question"], c["comparison"])


@pytest.mark.parametrize("record, allowed_kind", [
    ("lew2021#vas-pooled", "active"),
    ("liu2015#vs-other-therapies", "active"),
    ("liu2015#vs-wet-needling", "active"),
    ("liu2015#vs-sham-short-term", "sham-or-placebo"),
    ("navarrosantana2020#pain-short-term-vs-manual-therapy", "active"),
    ("navarrosantana2020#no-difference-vs-other-physical-therapy", "active"),
    ("yeganehlari2016#vas-dnmet-vs-single", "add-on"),
    ("yeganehlari2016#vas-dn-vs-met", "active"),
    ("fernandezdelaspenas2021#pain-short-term", "add-on"),
    ("hsieh2007#pain-treated-vs-untreated", "no-treatment-or-waiting-list"),
])
def test_results_appear_only_under_the_comparison_they_made(library, record, allowed_kind):
    study, result = record.split("#")
    used = [q for q in library.questions.values() for e in q.evidence
            if e.study == study and result in e.results]
    assert used, f"{record} answers no question"
    for q in used:
        assert q.comparator_kind == allowed_kind, (record, q.id, q.comparator_kind)


def test_no_trial_counts_twice(library):
    """A trial that a listed review includes is never listed beside it, and no study is listed
    twice in one question (two results of one analysis, such as an MD and its SMD, would be)."""
    included_in: dict[str, set[str]] = {}
    for study in library.studies.values():
        for link in study.links:
            if link.relation == "includes":
                included_in.setdefault(link.target, set()).add(study.id)
            elif link.relation == "included-in":
                included_in.setdefault(study.id, set()).add(link.target)
    assert "fernandezdelaspenas2021" in included_in["sterling2015"]
    for qid, question in library.questions.items():
        listed = [e.study for e in question.evidence if e.results]
        assert len(listed) == len(set(listed)), (qid, listed)
        for sid in listed:
            assert not (included_in.get(sid, set()) & set(listed)), (qid, sid)
    shoulder = library.questions["shoulder-pain"]
    assert [r for e in shoulder.evidence for r in e.results] == ["pain-smd"]


def test_every_effect_claim_names_its_comparator(claims):
    for c in claims:
        if c["kind"] != "benefit":
            continue
        comparison = c.get("comparison") or ""
        assert comparison.strip(), c["question"]
        assert "records do not state" not in comparison, c["question"]
        if c["certainty"] != "no evidence":  # the sentence itself says what it was compared with
            comparator = comparison.split(" vs ", 1)[-1]
            assert comparator in c["claim"], (c["question"], comparator, c["claim"])


def test_safety_claims_cite_the_surveys_and_give_frequencies(claims):
    by_q = {c["question"]: c for c in claims}
    for qid in ("safety", "serious-harms"):
        claim = by_q[qid]
        assert {"brady2014", "boyce2020"} <= set(claim["citations"]), qid
        text = " ".join([claim["claim"], *claim["caveats"]])
        assert re.search(r"\b19 mild side effects in every 100 treatments", text), qid
        assert re.search(r"\b37 minor side effects in every 100 treatments", text), qid
        assert "1 in 1,000" in text, qid
    # The heel-pain RR answers a comparison, not how often side effects happen.
    assert "he2017" not in _cited(by_q["safety"]) | _cited(by_q["serious-harms"])
    assert "he2017" in _cited(by_q["side-effects-vs-comparator"])


def test_navarrosantana2021_carries_the_shoulder_claim(claims):
    (shoulder,) = [c for c in claims if c["question"] == "shoulder-pain"]
    assert "navarrosantana2021#pain-smd" in shoulder["records"]
    assert shoulder["effect"] is not None
    assert (shoulder["effect"]["estimate"], shoulder["effect"]["ci_low"],
            shoulder["effect"]["ci_high"]) == pytest.approx((-0.25, -0.42, -0.09))
    assert "small" in shoulder["claim"]


def test_whiplash_trial_reads_as_little_to_no_difference(claims):
    (whiplash,) = [c for c in claims if c["question"] == "whiplash-recovery"]
    assert "little to no difference" in whiplash["claim"]
    assert "sterling2015" in whiplash["citations"]
    assert "sham" in whiplash["comparison"]


def test_mechanism_is_not_rated_as_an_effect(claims):
    (mech,) = [c for c in claims if c["question"] == "mechanism"]
    assert mech["kind"] == "mechanism"
    text = " ".join([mech["claim"], *mech["caveats"]]).lower()
    assert "ideas" in text or "theor" in text or "hypothes" in text
    assert "animal" in text
