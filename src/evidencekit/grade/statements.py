"""The claim's statement: one sentence on the wording ladder for a question and comparison.

Picks the rung for the certainty, the verb from which way the outcome is better (never from its
name), "little to no difference" below the important threshold, each study's own frequency for a
few single-group proportions, and "works less well than" (not "increases pain") when two active
treatments are compared.

Notes
-----
Santesso et al. 2020, GRADE 26, Table 2 (statements by certainty and size of effect).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from ..vocab import PROPORTION_MEASURES
from .body import EvidenceItem
from .effect_words import count_per
from .frequencies import few_study_frequency
from .ladder import WORDING_LADDER
from .rating import CertaintyRating
from .wording import Wording

if TYPE_CHECKING:
    from ..evidence.library import Library
    from ..evidence.records import Question

__all__ = ["ACTIVE_COMPARATOR_KINDS", "claim_statement", "is_mechanism"]


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _better(question: Question, library: Library | None = None) -> str | None:
    """Which way the outcome is better: the question's ``better``, else its studies' outcomes'."""
    if getattr(question, "better", None):
        return question.better
    if library is None:
        return None
    seen = set()
    for ev in question.evidence:
        try:
            study = library.study(ev.study)
        except KeyError:
            continue
        for r in (study.results if not ev.results else [study.result(i) for i in ev.results]):
            b = study.outcome(r.outcome).better
            if b:
                seen.add(b)
    return seen.pop() if len(seen) == 1 else None


def _verbs(question: Question, library: Library | None = None) -> tuple[str, str]:
    """The outcome verb from which way the outcome is better (never from its name)."""
    if question.kind == "harm":
        return "cause", "causes"
    if question.kind == "mechanism":
        return "change", "changes"
    better = _better(question, library)
    if better == "lower":
        return "reduce", "reduces"
    if better == "higher":
        return "improve", "improves"
    return "change", "changes"  # no direction known: a neutral verb, never a guessed one


#: Comparator kinds against which a result is a comparison of two treatments: "less than" or
#: "about as effective as" the comparator, never "increases pain" (docs/claims.md).
ACTIVE_COMPARATOR_KINDS = frozenset({"active"})


def is_mechanism(question: Question) -> bool:
    """Whether a question asks how a treatment works rather than how large its effect is.

    Declared, not guessed: ``kind: mechanism`` or ``mechanism`` among ``outcome_domains``.
    """
    return question.kind == "mechanism" or "mechanism" in (question.outcome_domains or ())


_ORDINALS = ("another study", "a third study", "a fourth study")


def _frequencies(items: Sequence[EvidenceItem], unit: str) -> list[str]:
    """Each study's frequency in words from its counts: "about 19 in 100 people", "in none of
    7,629 people", "about 1 in 1,000" (the unit named once, in the first)."""
    out = []
    for n, item in enumerate(items):
        noun = f" {unit}" if n == 0 else ""
        if item.events == 0 and item.total:
            out.append(f"in none of {item.total:,}{noun}")
            continue
        p = item.events / item.total if item.events is not None and item.total else item.estimate
        # The smallest denominator that shows at least "about 1" (as summary-of-findings tables
        # choose per 100 or per 1000).
        per = next((d for d in (100, 1000, 10000) if p * d >= 0.5), 10000)
        count = p * per
        shown = f"about {count:.0f}" if count >= 0.5 else "fewer than 1"
        out.append(f"{shown} in {per:,}{noun}")
    return out


def _frequency_statement(items: Sequence[EvidenceItem], outcome: str, strength: int, words: Wording
                        ) -> str:
    """One sentence per study, each hedged to the certainty (GRADE 26)."""
    each = _frequencies(items, words("frequency_unit"))
    if strength == 0:
        placed = [f"{f} in one study" if n == 0 else
                  f"{f} in {_ORDINALS[n - 1].removesuffix(' study')}"
                  if n - 1 < len(_ORDINALS) else f"{f} in study {n + 1}"
                  for n, f in enumerate(each)]
        joined = placed[0] if len(placed) == 1 else ", ".join(placed[:-1]) + " and " + placed[-1]
        return words("frequency_very_low", frequencies=joined)
    happened = {3: "happened", 2: "probably happened", 1: "may have happened"}[strength]
    was = {3: "was", 2: "probably was", 1: "may have been"}[strength]
    text = [words("frequency_first", Outcome=_cap(outcome), happened=happened,
                  frequency=each[0])]
    for n, freq in enumerate(each[1:]):
        where = _ORDINALS[n] if n < len(_ORDINALS) else f"study {n + 2}"
        text.append(words("frequency_next", where=where, was=was, frequency=freq))
    return " ".join(text)


def _active_statement(rating: CertaintyRating, question: Question, strength: int, words: Wording,
                      comparator: str, library: Library) -> str | None:
    """Two active treatments compared (GRADE 26 hedges), or None when no direction is known."""
    d = rating.direction
    outcome = question.outcome.strip()
    window = question.time_window.strip()
    when = f" {window}" if window and not window.startswith("(") else ""
    # The main sentence says "the other treatment"; the comparison sentence after it names it
    # (two short sentences read more easily than one long one).
    fill = dict(outcome=outcome, when=when, comparator=words("active_other"))
    if strength == 0 and d != "no-evidence":
        return words("active_very_low", **fill)
    if d not in ("benefit", "harm", "no-difference"):
        return None
    if question.kind == "harm":
        lead = {3: "leads", 2: "probably leads", 1: "may lead"}[strength]
        key = {"benefit": "active_harm_fewer", "harm": "active_harm_more"}.get(
            d, "active_harm_similar")
        return words(key, lead=lead, **fill)
    work = {3: "works", 2: "probably works", 1: "may work"}[strength]
    if d == "no-difference":
        return words("active_similar", work=work, **fill)
    if _verbs(question, library)[0] == "change":
        return None  # no known better direction: "more"/"less effective" would be a guess
    # "works less well than", not "reduces pain less than": the same finding, and it cannot be
    # read as a claim that the intervention reduces pain.
    return words("active_better" if d == "benefit" else "active_worse", work=work, **fill)


def claim_statement(rating: CertaintyRating, question: Question, strength: int,
                    words: Wording | None = None, comparator: str | None = None,
                    library: Library | None = None, comparator_kind: str | None = None) -> str:
    words = words or Wording(intervention=question.intervention.strip())
    if is_mechanism(question) and rating.direction != "no-evidence":
        return words("mechanism_statement", outcome=question.outcome.strip())
    kind = comparator_kind or getattr(question, "comparator_kind", None)
    comparator = comparator or (question.comparator or "").strip() or None
    if kind in ACTIVE_COMPARATOR_KINDS and comparator:
        active = _active_statement(rating, question, strength, words, comparator, library)
        if active is not None:
            return active
    rung = WORDING_LADDER[strength]
    v, vs = _verbs(question, library)
    i = question.intervention.strip()
    outcome = question.outcome.strip()
    when = question.time_window.strip()
    o = f"{outcome} {when}" if when and not when.startswith("(") else outcome
    plain = {"harm": words("plain_very_low_harm"),
             "mechanism": words("plain_very_low_mechanism")}.get(
        question.kind, words("plain_very_low_benefit"))
    fill = dict(I=_cap(i), i=i[:1].lower() + i[1:] if not i[:2].isupper() else i, O=o, v=v, vs=vs,
                plain=plain)
    d = rating.direction
    m = rating.main
    if m is not None and m.measure in PROPORTION_MEASURES and d != "no-evidence" \
            and few_study_frequency(m):
        # Each study's own frequency: a pooled HKSJ interval from 2-4 studies says little.
        records = set(m.records)
        items = [i for i in rating.items if i.record in records]
        each = _frequency_statement(items, o, strength, words)
        if strength == 0:
            return words("proportion_very_low", outcome=o, intervention=fill["i"]) + " " + each
        return each
    if m is not None and m.measure in PROPORTION_MEASURES and d != "no-evidence":
        if strength == 0:
            return words("proportion_very_low", outcome=o, intervention=fill["i"])
        had = {3: "had", 2: "probably had", 1: "may have had"}[strength]
        return words("proportion_statement", number=count_per(m.estimate, 100), had=had,
                     outcome=o, intervention=fill["i"])
    if d == "no-evidence":
        if any(i.role == "within-group" for i in rating.items):
            return words("no_comparison_studies", intervention=fill["i"], outcome=outcome)
        if question.kind == "harm":
            return words("harms_not_reported", intervention=fill["i"], outcome=outcome)
        return words("no_studies", outcome=outcome)
    if d == "unclear":
        if strength == 0:  # GRADE 26's very-low statement says the same, in its own words
            return (rung.harm if question.kind == "harm" else rung.benefit).format(**fill)
        return words("not_clear", intervention=fill["i"], verb=vs, outcome=o)
    if question.kind == "harm":
        template = rung.harm if d == "harm" else rung.no_difference if d == "no-difference" \
            else rung.no_difference
    elif d == "harm" and _better(question, library) == "lower":
        # More of an outcome that should be low (events, a score where lower is better): the
        # plain verb is "increase", not "make ... worse".
        template = rung.benefit
        fill.update(v="increase", vs="increases")
    else:
        template = {"benefit": rung.benefit, "harm": rung.worse}.get(d, rung.no_difference)
    return template.format(**fill)
