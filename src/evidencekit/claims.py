"""Claims patient material may carry: one plain sentence per question, no stronger than the evidence.

Each claim is worded on GRADE's ladder of informative statements (high: "reduces", moderate:
"probably reduces", low: "may reduce", very low: "the evidence is very uncertain"), says "little to
no difference" when the effect is below the important threshold, gives the size in everyday words,
and carries every caveat of the studies behind it plus the caveats the rating itself implies.
Citations are BibTeX keys; records are ``study#result``.

A study whose results for a question show no worthwhile benefit is never listed as support for a
benefit claim: it goes to ``contrary`` and a caveat names it.

Notes
-----
Wording: Santesso N, Glenton C, Dahm P, et al. GRADE guidelines 26: informative statements to
communicate the findings of systematic reviews of interventions. J Clin Epidemiol 2020;119:126-135
(Table 2: statements by certainty and size of effect). Plain-language size: Cochrane Handbook v6.4
15.5 (re-expressing SMDs; Cohen's 0.2/0.5/0.8 rule of thumb, 15.5.3.1).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, NamedTuple

from .certainty import (
    CERTAINTY_LEVELS, OPTIMAL_INFORMATION_SIZE, CertaintyRating, EvidenceItem, level_index,
    rate_certainty,
)

__all__ = [
    "CERTAINTY_LEVELS", "WORDING_LADDER", "Claim", "ClaimSet", "Rung", "make_claims",
    "max_strength", "strength_of",
]


class Rung(NamedTuple):
    """One step of the wording ladder (GRADE guideline 26, Table 2)."""

    strength: int
    certainty: str
    hedge: str
    benefit: str
    no_difference: str
    harm: str
    worse: str
    markers: tuple[str, ...]


#: The ladder, weakest first. ``{I}``/``{i}`` is the intervention (capitalised or not), ``{O}`` the
#: outcome with its time window, ``{v}``/``{vs}`` the verb (base / third person).
#: ``markers`` are the phrases that give a sentence this strength; :func:`strength_of` reads them
#: and the audit uses them to judge existing pages on the same scale.
WORDING_LADDER: tuple[Rung, ...] = (
    # GRADE 26 words very low as "The evidence is very uncertain about the effect of X on Y";
    # the same message in two short sentences reads about three grades easier.
    Rung(0, "very low", "the evidence is very uncertain",
         "We do not know if {i} {vs} {O}. The evidence is very uncertain.",
         "We do not know if {i} {vs} {O}. The evidence is very uncertain.",
         "We do not know if {i} {vs} {O}. The evidence is very uncertain.",
         "We do not know if {i} {vs} {O}. The evidence is very uncertain.",
         ("very uncertain", "not clear", "do not know", "no studies", "no study", "unknown",
          "found no",
          "uncertain", "cannot show")),
    Rung(1, "low", "may",
         "{I} may {v} {O}.",
         "{I} may make little to no difference to {O}.",
         "{I} may {v} {O}.",
         "{I} may make {O} worse.",
         ("may", "might", "could", "possibly")),
    Rung(2, "moderate", "probably",
         "{I} probably {vs} {O}.",
         "{I} probably makes little to no difference to {O}.",
         "{I} probably {vs} {O}.",
         "{I} probably makes {O} worse.",
         ("probably", "likely")),
    Rung(3, "high", "",
         "{I} {vs} {O}.",
         "{I} makes little to no difference to {O}.",
         "{I} {vs} {O}.",
         "{I} makes {O} worse.",
         ()),
)


def max_strength(certainty: str) -> int:
    """Strongest wording a certainty level allows: 0 very uncertain, 1 may, 2 probably, 3 plain.

    Notes
    -----
    GRADE guideline 26 (Santesso 2020), Table 2: one rung per certainty level.
    """
    return WORDING_LADDER[level_index(certainty)].strength


_HEDGE_PATTERNS = [(rung.strength, re.compile(r"\b(" + "|".join(map(re.escape, rung.markers)) + r")\b",
                                              re.I))
                   for rung in WORDING_LADDER if rung.markers]


def strength_of(sentence: str) -> int:
    """Strength a sentence asserts on the ladder (the weakest hedge found wins; none = 3).

    Used by the tests and the audit: a claim must never read stronger than ``max_strength``.
    """
    for strength, pattern in _HEDGE_PATTERNS:  # weakest first
        if pattern.search(sentence):
            return strength
    return 3


# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """One question's claim with its caveats and sources."""

    question: str
    title: str
    kind: str
    claim: str
    certainty: str
    direction: str
    caveats: tuple[str, ...]
    citations: tuple[str, ...]
    records: tuple[str, ...]
    contrary: tuple[str, ...] = ()
    contrary_citations: tuple[str, ...] = ()
    size: str | None = None
    certainty_reasons: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()

    @property
    def strength(self) -> int:
        """Strength of the claim's wording (see :func:`strength_of`)."""
        return min(strength_of(s) for s in _sentences(self.claim)) if self.claim else 0

    def to_dict(self) -> dict[str, Any]:
        """The DESIGN.md contract keys first, then the extras."""
        return {
            "question": self.question, "claim": self.claim, "certainty": self.certainty,
            "caveats": list(self.caveats), "citations": list(self.citations),
            "records": list(self.records), "title": self.title, "kind": self.kind,
            "direction": self.direction, "size": self.size, "contrary": list(self.contrary),
            "contrary_citations": list(self.contrary_citations),
            "certainty_reasons": list(self.certainty_reasons), "topics": list(self.topics),
        }


@dataclass(frozen=True)
class ClaimSet:
    """All claims, in question order, with the ratings they came from."""

    claims: tuple[Claim, ...]
    ratings: Mapping[str, CertaintyRating] = field(default_factory=dict, compare=False)

    def get(self, qid: str) -> Claim:
        for c in self.claims:
            if c.question == qid:
                return c
        raise KeyError(f"no claim for question {qid!r}; known: "
                       f"{', '.join(c.question for c in self.claims)}")

    def __iter__(self):
        return iter(self.claims)

    def __len__(self) -> int:
        return len(self.claims)

    def to_dict(self) -> dict[str, Any]:
        return {"claims": [c.to_dict() for c in self.claims]}

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame([{"question": c.question, "certainty": c.certainty,
                              "direction": c.direction, "claim": c.claim,
                              "caveats": len(c.caveats), "citations": ", ".join(c.citations)}
                             for c in self.claims]).set_index("question")

    def summary(self) -> str:
        blocks = []
        for c in self.claims:
            lines = [f"[{c.question}] {c.title}", f"  certainty: {c.certainty} ({c.direction})",
                     f"  claim: {c.claim}"]
            if c.size:
                lines.append(f"  size: {c.size}")
            lines += [f"  caveat: {x}" for x in c.caveats]
            lines.append(f"  citations: {', '.join(c.citations) or '-'}")
            if c.contrary:
                lines.append(f"  found no worthwhile benefit: {', '.join(c.contrary)}")
            lines.append(f"  records: {', '.join(c.records) or '-'}")
            lines += [f"  why {c.certainty}: {r}" for r in c.certainty_reasons]
            blocks.append("\n".join(lines))
        return "\n\n".join(blocks)


# ---------------------------------------------------------------------------------------------
# wording


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _verbs(question) -> tuple[str, str]:
    if question.kind == "harm":
        return "cause", "causes"
    if question.kind == "mechanism":
        return "change", "changes"
    lower_is_better = {"pain", "disability", "adverse-events"}
    if question.outcome_domains and question.outcome_domains[0] in lower_is_better:
        return "reduce", "reduces"
    return "improve", "improves"


def _number(x: float) -> str:
    x = abs(x)
    if x >= 10:
        return f"{x:.0f}"
    if x >= 2:
        return f"{round(x):.0f}"
    return f"{x:.1f}".rstrip("0").rstrip(".")


_RATIOS = frozenset({"RR", "OR", "HR", "ROM"})
_SMD_WORDS = ((0.8, "large"), (0.5, "moderate"), (0.2, "small"))


def _vote_text(rating: CertaintyRating) -> str | None:
    """What the studies found, by direction (SWiM vote count), as a caveat-ready sentence."""
    v = rating.votes or {}
    cast = sum(v.values())
    if not cast or rating.main is not None:
        return None
    found = v.get("benefit", 0)
    if found == cast:
        return None  # all agree: nothing to warn about
    if not found:
        return f"None of the {cast} studies found a clear benefit."
    return f"Only {found} of {cast} studies found a benefit. The others did not."


def _size_words(rating: CertaintyRating, question) -> tuple[str | None, str | None]:
    """(plain sentence hedged to the certainty, technical line) for the main estimate.

    GRADE 26 gives the size with the same hedge as the statement ("probably", "may"); at very low
    certainty it gives no size, because the estimate itself is not trusted.
    """
    m = rating.main
    if m is None:
        v = rating.votes or {}
        return None, (f"vote count on direction: {dict(v)}" if v else None)
    tech = (f"{m.measure} {m.estimate:.3g}"
            + (f" (95% CI {m.ci_low:.3g} to {m.ci_high:.3g})" if m.ci_low is not None else "")
            + f", {m.source}: {', '.join(m.records)}"
            + ("" if m.threshold is None else
               f"; important effect {math.exp(m.threshold):.3g}" if m.measure in _RATIOS else
               f"; important effect {m.threshold:g}"))
    strength = max_strength(rating.level)
    if strength == 0:
        return None, tech
    verb = {3: "was", 2: "is probably", 1: "may be"}[strength]
    if m.measure == "MD":
        unit = "degrees" if (m.scale or "").startswith("deg") else "points"
        label = {"pain": "pain", "disability": "disability"}.get(m.domain or "", "")
        rng = re.search(r"0\s*[-–]\s*\d+", m.scale or "")
        if rng:
            on = f" on a {rng.group(0)} {label} scale".replace("  ", " ")
        elif unit == "points":  # the record gives no range: do not invent one
            on = f" on the {label + ' ' if label else ''}scales used"
        else:
            on = ""
        plain = f"The average difference {verb} about {_number(m.estimate)} {unit}{on}."
        if m.threshold is not None and abs(m.benefit) < m.threshold:
            small = {3: "That is", 2: "That is probably", 1: "That may be"}[strength]
            plain += f" {small} too small to matter."
        return plain, tech
    if m.measure == "SMD":
        size = next((w for cut, w in _SMD_WORDS if abs(m.benefit) >= cut), "very small")
        return f"The average effect {verb} {size} in size.", tech
    return None, tech


def _statement(rating: CertaintyRating, question, strength: int) -> str:
    rung = WORDING_LADDER[strength]
    v, vs = _verbs(question)
    i = question.intervention.strip()
    outcome = question.outcome.strip()
    when = question.time_window.strip()
    o = f"{outcome} {when}" if when and not when.startswith("(") else outcome
    fill = dict(I=_cap(i), i=i[:1].lower() + i[1:] if not i[:2].isupper() else i, O=o, v=v, vs=vs)
    d = rating.direction
    if d == "no-evidence":
        if any(i.role == "within-group" for i in rating.items):
            return (f"We found no study that compared {fill['i']} with other care for {outcome}. "
                    f"Reports of people who got better cannot show that {fill['i']} helped.")
        if question.kind == "harm":
            return (f"We do not know how often {fill['i']} causes {outcome}, because the studies "
                    f"did not report them.")
        return f"We found no studies on {outcome}."
    if d == "unclear":
        if strength == 0:  # GRADE 26's very-low statement says the same, in its own words
            return (rung.harm if question.kind == "harm" else rung.benefit).format(**fill)
        return f"It is not clear whether {fill['i']} {vs} {o}."
    if question.kind == "harm":
        template = rung.harm if d == "harm" else rung.no_difference if d == "no-difference" \
            else rung.no_difference
    else:
        template = {"benefit": rung.benefit, "harm": rung.worse}.get(d, rung.no_difference)
    return template.format(**fill)


# ---------------------------------------------------------------------------------------------
# caveats


_SHAM_WORDS = re.compile(r"\b(sham|placebo|fake)\b", re.I)
_LONG_TIME = re.compile(r"month|year|\b(2[4-9]|[3-9]\d)\s*w(ee)?k", re.I)
_IMMEDIATE = re.compile(r"immediate|right after|session", re.I)


def _derived_caveats(rating: CertaintyRating, question, library, contrary: list[str]) -> list[str]:
    out: list[str] = []
    used = rating.used_items()
    studies = {i.study: library.study(i.study) for i in rating.items}
    if question.kind == "mechanism":
        out.append("These are ideas about how dry needling might work. They come from reviews and "
                   "animal studies. They have not been shown in patients.")
    if rating.direction == "no-evidence":
        out.append("No study in our evidence tested this." if question.kind != "harm" else
                   "The studies we have did not report side effects. So we cannot say how common "
                   "they are.")
    n = rating.total_n()
    if used and n is not None and n < OPTIMAL_INFORMATION_SIZE and rating.n_complete():
        out.append(f"The studies were small: {n} people in all.")
    elif used:
        sizes = [i.n for i in used if i.n]
        if sizes and min(sizes) < 100:
            out.append(f"Some studies were very small, with as few as {min(sizes)} people.")
    if used and question.kind != "mechanism":
        sham = any(a.sham for s in {i.study for i in used} for a in studies[s].arms) or any(
            _SHAM_WORDS.search(studies[i.study].result(i.result).comparison or "")
            for i in used if i.result)
        if not sham:
            out.append("No study compared dry needling with fake (sham) needling.")
        times = [i.time_point or "" for i in used]
        if times and all(_IMMEDIATE.search(t) for t in times):
            out.append("Results were measured right after treatment. We do not know if they lasted.")
        elif times and not any(_LONG_TIME.search(t) for t in times):
            out.append("No study checked whether the effect lasted more than a few weeks.")
    if rating.synthesis == "vote-counting":
        out.append("The studies gave only p-values or words. So we cannot tell how big any change was.")
    if any(i.role == "within-group" for i in rating.items):
        out.append("Some results only show change within one group. That change may not be due to "
                   "dry needling.")
    for text in sorted({i.indirect for i in used if i.indirect}):
        out.append(f"Some results come from {text.rstrip('.')}. They may not apply to you.")
    for sid in contrary:
        out.append(f"One study did not find a worthwhile benefit: {studies[sid].short_title}.")
    if question.kind == "harm" and rating.direction != "no-evidence":
        missing = [s for s in studies.values()
                   if any("adverse" in nr.item.lower() or "side effect" in nr.item.lower()
                          for nr in s.not_reported)]
        if missing:
            out.append(f"{len(missing)} of {len(studies)} studies did not report side effects.")
    return out


def _dedupe(texts: list[str]) -> tuple[str, ...]:
    seen: set[str] = set()
    out = []
    for t in texts:
        key = " ".join(t.split()).lower()
        if key not in seen:
            seen.add(key)
            out.append(" ".join(t.split()))
    return tuple(out)


# ---------------------------------------------------------------------------------------------


def _claim_for(question, rating: CertaintyRating, library) -> Claim:
    strength = max_strength(rating.level)
    # Citations must resolve in references.bib: a key without an entry is left out (the library's
    # validation reports the missing entry); only a library without references cites every study.
    refs = getattr(library, "references", None)
    used = rating.used_items()
    by_study: dict[str, list[EvidenceItem]] = {}
    for item in used:
        by_study.setdefault(item.study, []).append(item)
    main_studies = {r.split("#")[0] for r in (rating.main.records if rating.main else ())}

    contrary: list[str] = []
    if rating.direction == "benefit":
        # Support for a benefit = studies with a worthwhile benefit result, or the estimate the
        # claim rests on. A study whose results show none (e.g. a negative trial, a difference its
        # authors call not worthwhile) is listed apart, never as support.
        support = [s for s, items in by_study.items()
                   if s in main_studies or any(i.supports_benefit for i in items)]
        contrary = [s for s in by_study if s not in support]
        records = [i.record for i in used if i.study in support]
    else:
        support = list(by_study)
        records = [i.record for i in used]
    background = [i.study for i in rating.items if i.role == "no-data"
                  and i.study not in contrary and rating.direction != "benefit"]
    if rating.direction == "no-evidence":
        # Before-after reports are not evidence of an effect, but the claim says they exist, so
        # they are cited (and their caveats carried) as what was looked at.
        within = [i for i in rating.items if i.role == "within-group"]
        background += [i.study for i in within]
        records += [i.record for i in within]
    if question.kind == "mechanism":
        background = [i.study for i in rating.items if i.role == "no-data"]
    if rating.direction != "benefit":
        # Studies that only show change within a group were looked at and are named (their
        # caveats are carried); under a benefit claim they would read as support, so not there.
        only_within = [i.study for i in rating.items if i.role == "within-group"
                       and i.study not in by_study]
        background += only_within
        records += [i.record for i in rating.items if i.role == "within-group"
                    and i.study in only_within]
    records += [s for s in background if s not in records]
    cited = list(dict.fromkeys(support + background))
    citations = tuple(k for k in cited if refs is None or k in refs)
    contrary_citations = tuple(k for k in contrary if refs is None or k in refs)

    statement = _statement(rating, question, strength)
    plain, tech = _size_words(rating, question)
    # Mechanism claims give no vote count: "1 of 1 study found a benefit" would read as support
    # for a hypothesis that the evidence cannot carry.
    text = (statement if plain is None or rating.direction == "no-evidence"
            or question.kind == "mechanism" else f"{statement} {plain}")

    caveats = _derived_caveats(rating, question, library, contrary)
    votes = _vote_text(rating)
    if votes and question.kind != "mechanism":
        caveats.insert(0, votes)
    for ev in question.evidence:  # every study caveat is carried: none dropped for readability
        caveats += [c.text for c in library.study(ev.study).caveats]
    return Claim(question=question.id, title=question.title, kind=question.kind, claim=text,
                 certainty=rating.level, direction=rating.direction, caveats=_dedupe(caveats),
                 citations=citations, records=tuple(dict.fromkeys(records)),
                 contrary=tuple(contrary), contrary_citations=contrary_citations, size=tech,
                 certainty_reasons=tuple(rating.reasons()), topics=tuple(question.topics))


def make_claims(library, ratings: Mapping[str, CertaintyRating] | None = None) -> ClaimSet:
    """One claim per question in ``library.questions``, worded no stronger than its certainty.

    Parameters
    ----------
    library
        A loaded library (``.questions``, ``.studies``, ``.study()``, ``.references``).
    ratings
        Ratings by question id (e.g. with clinician overrides); missing ones are computed with
        :func:`~evidencekit.certainty.rate_certainty`.

    Returns
    -------
    ClaimSet

    Notes
    -----
    Wording follows GRADE guideline 26 (Santesso 2020, Table 2): the rung for the certainty level,
    "little to no difference" below the important threshold; caveats are the union of the study
    caveats and those implied by the rating (small total, no sham, short follow-up, vote counting,
    indirect populations, contrary studies, mechanism hypotheses, missing harms data).
    """
    ratings = dict(ratings or {})
    out = []
    for qid, question in library.questions.items():
        rating = ratings.get(qid) or rate_certainty(question, library)
        ratings[qid] = rating
        out.append(_claim_for(question, rating, library))
    return ClaimSet(claims=tuple(out), ratings=ratings)
