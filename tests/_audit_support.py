"""Claims for the audit tests.

``stand_in_claims()`` is a fixed ClaimSet that mirrors what the evidence in SOURCES.md supports (the
certainty levels and directions a reader of SOURCES.md would expect), so the audit tests do not move
when someone edits evidence/. ``real_claims()`` makes the claims from the repository's evidence/
folder (the integration the CLI uses); it returns ``None`` when that folder does not load.
"""
from __future__ import annotations

from pathlib import Path

from evidencekit.claims import Claim, ClaimSet

EVIDENCE = Path(__file__).resolve().parents[1] / "evidence"


def _claim(question, kind, certainty, direction, claim, records=("study#r",), topics=(), title=None):
    return Claim(question=question, title=title or question, kind=kind, claim=claim,
                 certainty=certainty, direction=direction, caveats=(), citations=tuple(
                     r.split("#")[0] for r in records), records=tuple(records), topics=tuple(topics))


def stand_in_claims() -> ClaimSet:
    """The eight questions of evidence/questions.yaml with the ratings SOURCES.md points to."""
    return ClaimSet(claims=(
        _claim("pain-short-term", "benefit", "low", "benefit",
               "Dry needling may reduce neck and shoulder pain in the first weeks after treatment.",
               ("kietrys2013#pain-vs-sham-4wk", "gattie2017#pain-immediate-to-12wk"),
               ("pain relief", "reduce pain", "less pain")),
        _claim("pain-immediate", "benefit", "low", "benefit",
               "Dry needling may reduce pain right after one session.",
               ("kietrys2013#pain-vs-sham-immediate", "hsieh2007#pain-treated-vs-untreated"),
               ("immediately", "right away", "after one session")),
        _claim("movement", "benefit", "very low", "benefit",
               "The evidence is very uncertain about the effect of dry needling on how far the neck or "
               "shoulder can move.",
               ("hsieh2007#rom-treated-vs-untreated", "osborne2010#rom-narrative"),
               ("range of motion", "mobility", "movement")),
        _claim("whiplash-recovery", "benefit", "moderate", "no-difference",
               "Adding dry needling to exercise probably results in little to no difference in disability "
               "from whiplash up to a year later.",
               ("sterling2015#ndi-md-12mo", "sterling2015#recovery-narrative"),
               ("whiplash", "recovery", "disability"), title="Disability and recovery after whiplash"),
        _claim("athletes", "benefit", "very low", "benefit",
               "The evidence is very uncertain about the effect of dry needling on shoulder pain, "
               "movement and strength during a competition season.",
               ("osborne2010",), ("athletes", "elite")),
        _claim("safety", "harm", "very low", "no-evidence",
               "We do not know how often dry needling causes side effects. The studies did not report them.",
               (), ("safe", "side effects"), title="Side effects and safety"),
        _claim("sessions", "dose", "very low", "no-evidence",
               "We found no studies on how many sessions of dry needling are needed.",
               (), ("sessions", "number of sessions"), title="How many sessions are needed"),
        _claim("mechanism", "mechanism", "very low", "unclear",
               "It is not clear whether dry needling changes trigger points and the nerve signals from "
               "muscle.", ("hsieh2007#ppt-treated-vs-untreated",), ("motor endplate", "twitch response")),
    ))


def real_claims():
    """Claims made from the repository's evidence/ folder, or ``None`` if it does not load."""
    from evidencekit.errors import InputError

    try:
        from evidencekit.claims import make_claims
        from evidencekit.library import load_library

        return make_claims(load_library(EVIDENCE))
    except InputError:
        return None


def claims_for_tests(prefer_real: bool = False):
    """The stand-in claims, or the real ones when asked for and available."""
    if prefer_real:
        real = real_claims()
        if real is not None:
            return real
    return stand_in_claims()
