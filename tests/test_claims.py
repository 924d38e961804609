"""Claims: wording never stronger than the certainty, caveats carried, sources traceable."""
from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evidencekit.certainty import (
    CERTAINTY_LEVELS, CertaintyRating, CertaintyStep, EffectSummary, EvidenceItem, rate_certainty,
)
from evidencekit.claims import (
    WORDING_LADDER, Claim, ClaimSet, make_claims, max_strength, strength_of,
)
from evidencekit.records import Caveat

from test_certainty import (  # noqa: E402  (shared builders; tests/ is on sys.path)
    EVIDENCE, estimate, library, narrative, outcome, pvalue, question, study,
)

# The render step fails a question above grade 10; we aim for 8 (DESIGN.md, issue 4).
MAX_GRADE = 10


def fk_grade(text: str) -> float:
    """Flesch-Kincaid grade via textstat; a pyphen syllable count where textstat lacks cmudict.

    textstat 0.7.13 downloads NLTK's cmudict on first use, which an offline machine cannot; the
    fallback applies the same formula (0.39 words/sentence + 11.8 syllables/word - 15.59).
    """
    import textstat

    try:
        return float(textstat.flesch_kincaid_grade(text))
    except LookupError:
        import pyphen

        dic = pyphen.Pyphen(lang="en_US")
        words = re.findall(r"[A-Za-z]+(?:'[a-z]+)?", text)
        sentences = max(1, len(re.findall(r"[.!?]+", text)))
        syllables = sum(max(1, len(dic.positions(w.lower())) + 1) for w in words)
        return 0.39 * len(words) / sentences + 11.8 * syllables / max(1, len(words)) - 15.59


# ---------------------------------------------------------------------------------------------
# the ladder


def test_ladder_is_monotonic_and_matches_levels():
    assert [max_strength(level) for level in CERTAINTY_LEVELS] == [0, 1, 2, 3]
    assert [r.certainty for r in WORDING_LADDER] == list(CERTAINTY_LEVELS)
    assert strength_of("Dry needling reduces pain.") == 3
    assert strength_of("Dry needling probably reduces pain.") == 2
    assert strength_of("Dry needling may reduce pain.") == 1
    assert strength_of("The evidence is very uncertain about the effect of dry needling.") == 0
    assert strength_of("We do not know if dry needling reduces pain.") == 0


def test_unknown_level_is_refused():
    from evidencekit.errors import InputError

    with pytest.raises(InputError):
        max_strength("medium")


def _one(rob="low", n=800, est=-2.0, lo=-2.5, hi=-1.5, threshold=1.0, **kw):
    s = study(rob=rob, n=n, results=[estimate(est=est, lo=lo, hi=hi)],
              caveats=[Caveat(kind="short-follow-up", text="Results were checked at 4 weeks only.")])
    q = question([("trial", ["r1"], None)], threshold=threshold, **kw)
    return make_claims(library([s], [q])).get("q")


@pytest.mark.parametrize("rob, level, phrase", [
    ("low", "high", "Dry needling reduces neck pain"),
    ("not-assessable", "moderate", "Dry needling probably reduces neck pain"),
    ("high", "low", "Dry needling may reduce neck pain"),
])
def test_wording_follows_certainty(rob, level, phrase):
    c = _one(rob=rob)
    assert c.certainty == level
    assert c.claim.startswith(phrase)
    assert c.strength == max_strength(level)


def test_very_low_is_very_uncertain():
    c = _one(rob="high", n=30, est=-1.5, lo=-3.5, hi=0.5)
    assert c.certainty == "very low"
    assert "very uncertain" in c.claim
    assert c.strength == 0


def test_little_to_no_difference_below_threshold():
    c = _one(est=-0.4, lo=-0.6, hi=-0.2, threshold=1.0)
    assert c.direction == "no-difference"
    assert "little to no difference" in c.claim
    assert "reduces" not in c.claim


def test_size_in_plain_words():
    c = _one(est=-3.8, lo=-4.2, hi=-3.4, threshold=1.0)
    assert "about 4 points on a 0-10 pain scale" in c.claim


def test_claim_to_dict_has_contract_keys():
    d = _one().to_dict()
    for key in ("question", "claim", "certainty", "caveats", "citations", "records"):
        assert key in d
    assert d["certainty"] in CERTAINTY_LEVELS
    assert all(isinstance(x, str) for x in d["caveats"] + d["citations"] + d["records"])


# ---------------------------------------------------------------------------------------------
# caveats and sources


def test_every_study_caveat_is_carried_and_deduped():
    same = "Only 14 people took part."
    a = study("a", results=[pvalue("p1")], n=14,
              caveats=[Caveat(kind="small-sample", text=same),
                       Caveat(kind="no-sham", text="There was no fake-needling group at all.")])
    b = study("b", results=[pvalue("p1")], n=14, caveats=[Caveat(kind="small-sample", text=same)])
    q = question([("a", ["p1"], None), ("b", ["p1"], None)])
    c = make_claims(library([a, b], [q])).get("q")
    assert c.caveats.count(same) == 1
    assert "There was no fake-needling group at all." in c.caveats
    # derived from the rating: p-values only, small total
    assert any("p-values" in x for x in c.caveats)
    assert "Only 28 people took part in all. That is too few to be sure of the result." in c.caveats


def test_citations_are_references_and_records_resolve():
    s = study(results=[estimate()])
    q = question([("trial", ["r1"], None)])
    lib = library([s], [q], references={"trial": object()})
    c = make_claims(lib).get("q")
    assert c.citations == ("trial",)
    assert c.records == ("trial#r1",)
    lib2 = library([s], [q], references={})  # a key missing from references.bib is not cited
    assert make_claims(lib2).get("q").citations == ()


def test_negative_trial_is_never_support_for_a_benefit():
    review = study("review", design="systematic-review", n=900, results=[
        estimate("pooled", est=-2.0, lo=-2.6, hi=-1.4, contrast="review-pooled", k=10)])
    negative = study("negative", n=80, results=[
        estimate("md", est=-0.4, lo=-0.9, hi=-0.1, important=False, direction="benefit")],
        caveats=[Caveat(kind="negative-trial", text="This trial found no useful benefit.")])
    q = question([("review", ["pooled"], None), ("negative", ["md"], None)])
    c = make_claims(library([review, negative], [q])).get("q")
    assert c.direction == "benefit"
    assert "negative" not in c.citations
    assert not any(r.startswith("negative") for r in c.records)
    assert c.contrary == ("negative",)
    assert "This trial found no useful benefit." in c.caveats
    assert any("did not find a worthwhile benefit" in x for x in c.caveats)


def test_mechanism_claim_is_hedged_and_says_hypothesis():
    rabbits = study("rabbits", design="animal-study", n=9,
                    outcomes=[outcome("spont", "mechanism", None, "lower")],
                    results=[pvalue("p1", out="spont")])
    q = question([("rabbits", ["p1"], None)], kind="mechanism", domains=("mechanism",),
                 threshold=None, outcome="trigger points")
    c = make_claims(library([rabbits], [q])).get("q")
    assert c.certainty == "very low" and c.strength == 0
    assert any("ideas about how dry needling might work" in x for x in c.caveats)


def test_no_evidence_claims():
    s = study(results=[estimate()])
    q = question([("trial", [], None)], qid="sessions", kind="dose", threshold=None,
                 domains=("other",), outcome="how many sessions are needed")
    c = make_claims(library([s], [q])).get("sessions")
    assert c.direction == "no-evidence" and c.certainty == "very low"
    assert c.claim == "We found no studies on how many sessions are needed."
    assert c.citations == ("trial",)


def test_claimset_views():
    cs = _one_set()
    assert isinstance(cs, ClaimSet) and len(cs) == 1
    assert list(cs.to_dict()) == ["claims"]
    assert cs.to_frame().index.tolist() == ["q"]
    assert "certainty:" in cs.summary()
    with pytest.raises(KeyError):
        cs.get("nope")


def _one_set() -> ClaimSet:
    s = study(results=[estimate()])
    return make_claims(library([s], [question([("trial", ["r1"], None)])]))


def test_ratings_passed_in_are_used():
    s = study(results=[estimate(est=-2.0, lo=-2.5, hi=-1.5)])
    q = question([("trial", ["r1"], None)])
    lib = library([s], [q])
    rating = rate_certainty(q, lib, overrides={"risk-of-bias": (-2, "assessor not blinded")})
    c = make_claims(lib, ratings={"q": rating}).get("q")
    assert c.certainty == rating.level == "low"
    assert any("assessor not blinded" in r for r in c.certainty_reasons)


# ---------------------------------------------------------------------------------------------
# property: no generated wording is stronger than its certainty


def _rating(level, direction, kind, est, half, threshold, synthesis):
    main = None
    if synthesis != "vote-counting":
        main = EffectSummary(measure="MD", estimate=-est, ci_low=-est - half, ci_high=-est + half,
                             benefit=est, benefit_low=est - half, benefit_high=est + half,
                             threshold=threshold, source=synthesis, records=("trial#r1",), k=1,
                             n=100, scale="0-10", instrument="VAS", domain="pain")
    item = EvidenceItem(study="trial", result="r1", design="randomised-trial", role="estimate",
                        direction="benefit", n=100, time_point="4 weeks")
    return CertaintyRating(question="q", title="Pain", kind=kind, start="high", level=level,
                           steps=(CertaintyStep("imprecision", 0, "generated"),),
                           direction=direction, synthesis=synthesis, main=main, items=(item,),
                           votes={"benefit": 1, "harm": 0, "none": 0, "mixed": 0})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(level=st.sampled_from(CERTAINTY_LEVELS),
       direction=st.sampled_from(["benefit", "no-difference", "harm", "unclear", "no-evidence"]),
       kind=st.sampled_from(["benefit", "harm", "mechanism", "dose"]),
       est=st.floats(0, 20, allow_nan=False), half=st.floats(0.01, 10, allow_nan=False),
       threshold=st.one_of(st.none(), st.floats(0.1, 10, allow_nan=False)),
       synthesis=st.sampled_from(["single-study", "review-pooled", "vote-counting"]),
       intervention=st.sampled_from(["dry needling", "adding dry needling to exercise"]))
def test_no_claim_is_stronger_than_its_certainty(level, direction, kind, est, half, threshold,
                                                 synthesis, intervention):
    s = study(results=[estimate()])
    q = question([("trial", ["r1"], None)], kind=kind, intervention=intervention)
    lib = library([s], [q])
    rating = _rating(level, direction, kind, est, half, threshold, synthesis)
    c = make_claims(lib, ratings={"q": rating}).get("q")
    assert c.certainty == level
    # every sentence of the claim must sit at or below the rung the certainty allows
    for sentence in re.split(r"(?<=\.)\s+", c.claim):
        assert strength_of(sentence) <= max_strength(level), (level, c.claim)
    if direction == "no-difference" and level != "very low" and kind != "dose":
        assert "little to no difference" in c.claim


# ---------------------------------------------------------------------------------------------
# readability of the generated text


def test_generated_text_is_plain():
    c = _one(rob="high")
    for text in (c.claim, *c.caveats):
        assert fk_grade(text) <= MAX_GRADE, text


# ---------------------------------------------------------------------------------------------
# the bundled evidence


@pytest.fixture(scope="module")
def bundled():
    from evidencekit.errors import InputError
    from evidencekit.library import load_library

    try:
        lib = load_library(EVIDENCE)
    except InputError as exc:
        pytest.skip(f"bundled evidence does not load yet: {exc}")
    return lib, make_claims(lib)


WHIPLASH = ("sterling2015", "sterling2009")


def test_whiplash_trial_never_supports_a_benefit(bundled):
    """The whiplash trial found no clinically worthwhile benefit: no claim may use it as support."""
    lib, claims = bundled
    assert len(claims) == len(lib.questions)
    for c in claims:
        if c.direction == "benefit":
            assert not set(WHIPLASH) & set(c.citations), c.question
            assert not any(r.split("#")[0] in WHIPLASH for r in c.records), c.question
        if "whiplash" in c.claim.lower():
            assert c.direction != "benefit" and not re.search(r"\b(reduces|improves|speeds)\b",
                                                              c.claim), c.claim
    wl = claims.get("whiplash-recovery")
    assert wl.direction == "no-difference" and "little to no difference" in wl.claim
    assert "sterling2015" in wl.citations


def test_bundled_claims_match_certainty_and_resolve(bundled):
    lib, claims = bundled
    for c in claims:
        assert c.strength <= max_strength(c.certainty), c.claim
        assert c.caveats, c.question
        assert set(c.citations) <= set(lib.references), c.question
        for rec in c.records:
            sid, _, rid = rec.partition("#")
            s = lib.study(sid)
            if rid:
                s.result(rid)


def test_bundled_claims_carry_every_study_caveat(bundled):
    lib, claims = bundled
    for c in claims:
        norm = {" ".join(x.split()) for x in c.caveats}
        for ev in lib.question(c.question).evidence:
            for cav in lib.study(ev.study).caveats:
                assert " ".join(cav.text.split()) in norm, (c.question, cav.text)


def test_bundled_claims_read_plainly(bundled):
    _, claims = bundled
    for c in claims:
        assert fk_grade(c.claim) <= MAX_GRADE, c.claim
