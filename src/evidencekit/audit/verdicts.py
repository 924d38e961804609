"""The verdict for one route of a sentence, with its reason and a suggestion: step 5 of judging it
(:func:`verdict_for` for a question, :func:`comparison_verdict` for "better than <comparator>").

The audit never rates evidence itself: certainty and direction come from the claims
(:func:`evidencekit.make_claims`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..vocab import PROPORTION_MEASURES
from .cues import Cues, counted_absolutes
from .lexicon import LADDER_NAMES
from .routing import Route
from .strength import Strength
from .topics import Topics

__all__ = ["Verdict", "verdict_for", "comparison_verdict"]


@dataclass(frozen=True)
class Verdict:
    """Step 5: the verdict for one route."""

    verdict: str
    reason: str
    suggestion: str
    evidence: tuple[str, ...]
    allowed: int | None
    question: str


def _get_claim(claims: Any, qid: str) -> Any | None:
    try:
        return claims.get(qid)
    except KeyError:
        return None


def _evidence(claim: Any) -> tuple[str, ...]:
    if claim is None:
        return ()
    return tuple(dict.fromkeys(tuple(claim.records) + tuple(claim.citations)))


def _quoted(words: list[str]) -> str:
    words = list(dict.fromkeys(" ".join(w.split()) for w in words if w.strip()))[:3]
    return ", ".join(f'"{w}"' for w in words)


def _rewrite_advice(c: Cues, strength: Strength, allowed: int) -> str:
    """Advice in the page's own words: which words to drop or soften."""
    from ..grade.ladder import rewording_advice

    strong = _quoted([m.group(0) for m in counted_absolutes(c)] + [m.group(0) for m in c.intensifiers])
    target = rewording_advice(allowed)
    if strong:
        return f"Remove {strong} and {target}."
    verbs = _quoted([m.group(0) for m in c.benefit[:2]])
    return f"Soften {verbs}: {target}." if verbs else f"Reword it: {target}."


def verdict_for(r: Route, strength: Strength, c: Cues, claims: Any, topics: Topics) -> Verdict:
    """Step 5: the verdict, reason and suggestion for one question.

    Notes
    -----
    No claim, no evidence or no records -> unsupported (a mechanism -> mechanism-as-fact); rung 0
    -> supported. "contradicted" needs the same outcome and comparison: a benefit claimed for a
    question routed by its own topic words (never the generic fallback) whose evidence found no
    difference or harm, "it does not help" against evidence of benefit, or "safe" against evidence
    of harm. Above ``max_strength(certainty)`` -> overstated (a direction of ``unclear`` allows only
    rung 0); else supported.
    """
    from ..grade.ladder import max_strength

    qid, mode, rung = r.question, r.mode, strength.rung
    claim = _get_claim(claims, qid)
    treatment = topics.treatment
    title = claim.title if claim is not None else topics.titles.get(qid, qid)
    if mode == "warning":
        return Verdict("supported", "A cautious warning about possible harms; warnings are never "
                                    "overclaims.", "Keep the warning.", _evidence(claim), None, qid)
    if claim is None or claim.direction == "no-evidence" or not claim.records:
        text = claim.claim if claim else None
        if mode == "mechanism":
            if rung == 0:
                return Verdict("supported", "The mechanism is presented as uncertain.", text or
                               "Keep it.", (), 0, qid)
            return Verdict("mechanism-as-fact",
                           f"States how {treatment} works as established ({strength.why}); no study "
                           f"in this review tested this explanation.",
                           text or "Present it as an idea that has not been shown in patients: "
                                   "\"It has been suggested that ...; this has not been tested in "
                                   "people.\"", _evidence(claim), 0, qid)
        if rung == 0:
            return Verdict("supported", f"Says the evidence is uncertain ({title}).", text or
                           "Keep it.", _evidence(claim), 0, qid)
        if claim is None and not c.benefit and c.negated_benefit and mode == "benefit":
            return Verdict("supported", "Claims no benefit (for an outcome no study in this review "
                           "looked at), so it overstates nothing.", "Keep it.", (), None, qid)
        if claim is None and mode == "safety":
            why = (f"No study in this review reported the harms of {treatment}; the sentence "
                   f"states that it is harmless with {strength.why}.")
            suggestion = (f"Remove the claim, or say that the studies of {treatment} did not report "
                          "how often side effects happen.")
        elif claim is None and mode == "sessions":
            why = (f"No study in this review compared numbers of sessions of {treatment}; the "
                   f"sentence states a dose with {strength.why}.")
            suggestion = "Remove the number, or say that the best number of sessions is not known."
        elif claim is None:  # outcomes no question covers (the topic file's outcomes_not_studied)
            words = _quoted([m.group(0) for m in c.topics.get(qid, ())])
            what = f"this ({words})" if words else "this"
            why = (f"No study in this review looked at {what}; the sentence states it with "
                   f"{strength.why}.")
            suggestion = (f"Remove the claim, or say that the effect of {treatment} on it has not "
                          "been studied.")
        else:
            why = (f"No study in this review answers '{title}'; the sentence states it with "
                   f"{strength.why}.")
            suggestion = text
        return Verdict("unsupported", why, suggestion, _evidence(claim), None, qid)
    allowed = max_strength(claim.certainty)
    direction = claim.direction
    if direction == "unclear" and not _is_frequency(claim):
        allowed = 0  # claims.py words these "It is not clear whether ...": the bottom rung
    ladder = f"{claim.certainty} certainty allows at most '{LADDER_NAMES[allowed]}' wording"
    ev = _evidence(claim)
    if mode == "mechanism" or claim.kind == "mechanism":
        if rung > allowed:
            return Verdict("mechanism-as-fact", f"A hypothesised mechanism stated with "
                           f"{strength.why}; {ladder} ({title}).", claim.claim, ev, allowed, qid)
        return Verdict("supported", f"Mechanism worded within the evidence ({ladder}).", claim.claim,
                       ev, allowed, qid)
    if mode == "safety":
        if direction == "harm" and rung >= 1:
            return Verdict("contradicted", f"Says it is harmless, but the evidence points to harm "
                           f"({claim.certainty} certainty, {title}).", claim.claim, ev, allowed, qid)
    elif r.specific and direction in ("no-difference", "harm") and c.benefit and rung >= 1:
        found = "no worthwhile difference" if direction == "no-difference" else "harm"
        return Verdict("contradicted", f"Claims a benefit for '{title}', but the evidence found "
                       f"{found} ({claim.certainty} certainty).", claim.claim, ev, allowed, qid)
    elif r.specific and direction == "benefit" and c.negated_benefit and not c.benefit and rung >= 1:
        return Verdict("contradicted", f"Says it does not help, but the evidence points to a "
                       f"benefit ({claim.certainty} certainty, {title}).", claim.claim, ev, allowed,
                       qid)
    if rung > allowed:
        return Verdict("overstated", f"Worded with {strength.why}; {ladder} ({title}).",
                       f"{_rewrite_advice(c, strength, allowed)} The evidence allows: "
                       f"\"{claim.claim}\"", ev, allowed, qid)
    return Verdict("supported", f"Worded within the evidence: {strength.why}; {ladder} ({title}).",
                   claim.claim, ev, allowed, qid)


def comparison_verdict(r: Route, strength: Strength, topics: Topics) -> Verdict:
    """Step 5 for "better than <comparator>": judged against what the topic file says the evidence
    found for that comparator, with the records named so an author can check them."""
    comp = r.comparator
    denied = r.mode == "comparison-denied"
    ev = tuple(dict.fromkeys(comp.evidence + tuple(e.split("#")[0] for e in comp.evidence)))
    records = f" ({', '.join(comp.evidence)})" if comp.evidence else ""
    says = comp.says or "the evidence does not show it"
    keep = comp.suggestion or "Keep it: it matches the evidence."
    treatment = topics.treatment
    rung, why = strength.rung, strength.why

    def v(verdict: str, reason: str, suggestion: str, allowed: int | None = None) -> Verdict:
        return Verdict(verdict, reason, suggestion, ev, allowed, comp.id)

    if denied:
        claim = f"Says {treatment} does no better than {comp.name}"
        if comp.finding in ("no-difference", "comparator-better"):
            return v("supported", f"{claim}, as the evidence found: {says}{records}.", keep)
        if rung == 0:
            return v("supported", f"{claim} ({why}); {says}{records}.", keep, 0)
        if comp.finding == "benefit":
            return v("contradicted", f"{claim} ({why}), but {says}{records}.",
                     comp.suggestion or "Say what the evidence found.")
        return v("unsupported", f"{claim} ({why}), but {says}{records}.",
                 comp.suggestion or f"Remove the comparison: no study in this review compared "
                                    f"{treatment} with {comp.name}.")
    claim = f"Claims {treatment} does better than {comp.name}"
    if rung == 0:
        return v("supported", f"{claim} ({why}); {says}{records}.", keep, 0)
    if comp.finding in ("no-difference", "comparator-better"):
        return v("contradicted", f"{claim} ({why}), but {says}{records}.",
                 comp.suggestion or "Remove the comparison.")
    if comp.finding == "no-evidence":
        return v("unsupported", f"{claim} ({why}), but {says}{records}.",
                 comp.suggestion or f"Remove the comparison: no study in this review compared "
                                    f"{treatment} with {comp.name}.")
    return v("supported", f"The comparison with {comp.name} goes the way of the evidence: {says}"
                          f"{records}; the wording is judged by the outcome's question.", keep)


def _is_frequency(claim) -> bool:
    """A claim about how often something happens in one group (a single-group proportion): it has
    no direction, so "unclear" does not mean the claims chose the bottom rung of the ladder."""
    effect = getattr(claim, "effect", None) or {}
    return effect.get("measure") in PROPORTION_MEASURES
