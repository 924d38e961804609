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

from ..vocab import DOMAIN_JSON_KEYS, NO_EVIDENCE, PROPORTION_MEASURES, RATIO_MEASURES
from .certainty import (
    CERTAINTY_LEVELS, OPTIMAL_INFORMATION_SIZE, CertaintyRating, EvidenceItem, few_study_frequency,
    level_index,
    rate_certainty,
)
from .wording import Wording
from .decisions import (apply_exclusions, compare_ratings, question_decisions,
                        without_excluded)
from ..stats.sensitivity import for_rating

#: The certainty of a comparison no study answers: GRADE gives it no level.

#: JSON names of the five GRADE domains (DESIGN.md), from the rating's domain names.
DOMAIN_KEYS = DOMAIN_JSON_KEYS

__all__ = [
    "CERTAINTY_LEVELS", "SMALL_STUDY_PER_GROUP", "WORDING_LADDER", "Claim", "ClaimSet", "Rung",
    "StudyNote", "make_claims", "max_strength", "strength_of",
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
    # GRADE 26's own very-low statement, word for word, then the same in a short plain sentence
    # ({plain}: "We do not know if it helps."), which keeps the claim at grade 8.
    Rung(0, "very low", "the evidence is very uncertain",
         "The evidence is very uncertain about the effect of {i} on {O}. {plain}",
         "The evidence is very uncertain about the effect of {i} on {O}. {plain}",
         "The evidence is very uncertain about the effect of {i} on {O}. {plain}",
         "The evidence is very uncertain about the effect of {i} on {O}. {plain}",
         ("very uncertain", "not clear", "do not know", "no studies", "no study", "unknown",
          "found no",
          "uncertain", "cannot show")),
    Rung(1, "low", "may",
         "{I} may {v} {O}.",
         "{I} may result in little to no difference in {O}.",
         "{I} may {v} {O}.",
         "{I} may make {O} worse.",
         ("may", "might", "could", "possibly")),
    Rung(2, "moderate", "probably",
         "{I} probably {vs} {O}.",
         "{I} probably results in little to no difference in {O}.",
         "{I} probably {vs} {O}.",
         "{I} probably makes {O} worse.",
         ("probably", "likely")),
    Rung(3, "high", "",
         "{I} {vs} {O}.",
         "{I} results in little to no difference in {O}.",
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


class StudyNote(NamedTuple):
    """A study named beside a claim but not as its support, with the reason and its records."""

    study: str
    reason: str
    records: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"study": self.study, "reason": self.reason, "records": list(self.records)}


@dataclass(frozen=True)
class Claim:
    """One question's claim with its caveats and sources.

    ``citations``/``records`` are the studies and results the claim rests on. In a benefit claim,
    studies whose results show no worthwhile benefit are in ``contrary`` (ids), with a reason each
    in ``contrary_reasons``; studies that were looked at but give no clear answer (mixed or
    undirected results, within-group changes only, no data for the question, a protocol) are in
    ``considered`` with the reason. Their caveats are still carried (filtered only by the
    question's ``caveat_kinds``), so nothing is hidden and nothing is shown as support that is not.
    """

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
    contrary_reasons: tuple[StudyNote, ...] = ()
    considered: tuple[StudyNote, ...] = ()
    considered_citations: tuple[str, ...] = ()
    #: Study caveats of this question's evidence left out of ``caveats`` because their kind does
    #: not bear on the question (``caveat_kinds`` in questions.yaml): ``(study, kind, text)``.
    #: They stay in the citation summary, which prints every study caveat from the records.
    excluded_caveats: tuple[tuple[str, str, str], ...] = ()
    #: The comparison this claim answers, in words ("BCG vaccination vs no vaccine"), and its
    #: comparator kind (records.ComparatorKind, or "unspecified").
    comparison: str = ""
    comparator_kind: str | None = None
    #: The pooled (or single-study) estimate the claim rests on, natural scale; None if none.
    effect: Mapping[str, Any] | None = None
    #: The five GRADE domains: name -> {"change": 0 | -1 | -2, "reason": text}.
    domains: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: Sensitivity analyses ({analysis, estimate, ci_low, ci_high, k}) of a pooled effect.
    sensitivity: tuple[Mapping[str, Any], ...] = ()
    #: What the sensitivity analyses change, naming them (for clinicians); "" when robust.
    sensitivity_note: str = ""
    #: The review team's decisions (questions.yaml), disclosed: overrides, then exclusions.
    decisions: tuple[str, ...] = ()
    #: Studies or results left out by the review team: {study, result?, reason, decided_by}.
    excluded: tuple[Mapping[str, Any], ...] = ()

    @property
    def strength(self) -> int:
        """Strength of the claim's wording (see :func:`strength_of`)."""
        return min(strength_of(s) for s in _sentences(self.claim)) if self.claim else 0

    def to_dict(self) -> dict[str, Any]:
        """The DESIGN.md contract keys first, then the extras."""
        return {
            "question": self.question, "comparison": self.comparison, "claim": self.claim,
            "certainty": self.certainty,
            "caveats": list(self.caveats), "citations": list(self.citations),
            "records": list(self.records),
            "effect": None if self.effect is None else dict(self.effect),
            "domains": {k: dict(v) for k, v in self.domains.items()},
            "sensitivity": [dict(x) for x in self.sensitivity],
            "comparator_kind": self.comparator_kind,
            "title": self.title, "kind": self.kind,
            "direction": self.direction, "size": self.size, "contrary": list(self.contrary),
            "contrary_citations": list(self.contrary_citations),
            "certainty_reasons": list(self.certainty_reasons), "topics": list(self.topics),
            "contrary_reasons": [n.to_dict() for n in self.contrary_reasons],
            "considered": [n.to_dict() for n in self.considered],
            "considered_citations": list(self.considered_citations),
            "excluded_caveats": [{"study": s, "kind": k, "text": t}
                                 for s, k, t in self.excluded_caveats],
            "sensitivity_note": self.sensitivity_note, "decisions": list(self.decisions),
            "excluded": [dict(x) for x in self.excluded],
        }


@dataclass(frozen=True)
class ClaimSet:
    """All claims, in question order, with the ratings they came from."""

    claims: tuple[Claim, ...]
    ratings: Mapping[str, CertaintyRating] = field(default_factory=dict, compare=False)

    def for_question(self, qid: str) -> tuple[Claim, ...]:
        """Every claim of a question, one per comparison, in output order."""
        return tuple(c for c in self.claims if c.question == qid)

    def get(self, qid: str, comparator_kind: str | None = None) -> Claim:
        """The claim of a question (of one comparison with ``comparator_kind``).

        A question with several comparisons and no kind given returns the claim whose wording
        allows the most (then the first): a reader of one claim per question (the audit today)
        judges a sentence that names no comparator against what some comparison supports, and
        every claim stays listed in :meth:`for_question`.
        """
        found = self.for_question(qid)
        if comparator_kind is not None:
            found = tuple(c for c in found if c.comparator_kind == comparator_kind)
        if len(found) > 1:
            return max(found, key=lambda c: (max_strength(c.certainty)
                                             if c.direction != "no-evidence" else -1,
                                             c.direction in ("benefit", "harm"),
                                             -found.index(c)))
        for c in found:
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
            lines = [f"[{c.question}] {c.title}", f"  comparison: {c.comparison}",
                     f"  certainty: {c.certainty} ({c.direction})", f"  claim: {c.claim}"]
            if c.effect is not None:
                e = c.effect
                lines.append(f"  effect: {e['measure']} {e['estimate']:.4g} (95% CI "
                             f"{e['ci_low']:.4g} to {e['ci_high']:.4g}), k = {e['k']}, "
                             f"{e['method']}, CI {e['ci_method']}")
            lines += [f"  {name}: {d['change']:+d}: {d['reason']}"
                      for name, d in c.domains.items()]
            if c.size:
                lines.append(f"  size: {c.size}")
            lines += [f"  caveat: {x}" for x in c.caveats]
            lines.append(f"  citations: {', '.join(c.citations) or '-'}")
            lines += _decision_and_sensitivity_lines(c)
            if c.contrary:
                lines.append(f"  found no worthwhile benefit: {', '.join(c.contrary)}")
            lines += [f"  contrary: {n.study}: {n.reason}" for n in c.contrary_reasons]
            lines += [f"  considered, not counted as support: {n.study}: {n.reason}"
                      for n in c.considered]
            if c.excluded_caveats:
                lines.append(f"  study caveats of kinds this question excludes: "
                             f"{len(c.excluded_caveats)} (in the citation summary)")
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


def _better(question, library=None) -> str | None:
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


def _verbs(question, library=None) -> tuple[str, str]:
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


def _number(x: float) -> str:
    x = abs(x)
    if x >= 10:
        return f"{x:.0f}"
    if x >= 2:
        return f"{round(x):.0f}"
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _count(number: str | int, singular: str, plural: str | None = None) -> str:
    """``"1 point"``, ``"1.5 points"``, ``"4 points"``: the noun agrees with the number as printed."""
    text = str(number)
    return f"{text} {singular if text == '1' else plural or singular + 's'}"


_SMD_WORDS = ((0.8, "large"), (0.5, "moderate"), (0.2, "small"))


def _vote_text(rating: CertaintyRating) -> str | None:
    """A caveat-ready sentence for studies that have no pooled estimate, or None.

    A count of studies "for" and "against" (vote counting) misreads the evidence: a small trial
    with no clear result is not evidence of no effect (Cochrane Handbook 12.2.1; McKenzie &
    Brennan, SWiM 2020). So the patient text never counts wins; where two or more studies could
    not be combined it says so plainly, and the claim itself says what can be said.
    """
    v = rating.votes or {}
    cast = sum(v.values())
    if cast < 2 or rating.main is not None or rating.synthesis == "vote-counting":
        # one study: nothing to combine; vote-counting synthesis has its own caveat below
        return None
    return "The studies could not be combined into one overall result."


def _judged(question) -> bool:
    """Whether the question's important-effect threshold is our own judgement."""
    ie = getattr(question, "important_effect", None)
    return bool(ie is not None and ie.author_judgement)


def _size_words(rating: CertaintyRating, question, words: Wording | None = None,
                comparator: str | None = None) -> tuple[str | None, str | None]:
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
               f"; important effect {math.exp(m.threshold):.3g}" if m.measure in RATIO_MEASURES else
               f"; important effect {m.threshold:g}"
               + (" (author judgement)" if _judged(question) else ""))
            + ("" if m.scale_stated else "; scale not stated, not compared with the threshold"))
    strength = max_strength(rating.level)
    if strength == 0:
        return None, tech
    verb = {3: "was", 2: "is probably", 1: "may be"}[strength]
    if m.measure == "MD":
        degrees = (m.scale or "").startswith("deg")
        label = {"pain": "pain", "disability": "disability"}.get(m.domain or "", "")
        rng = re.search(r"0\s*[-–]\s*\d+", m.scale or "")
        if not m.scale_stated:
            # A bare "MD -2.31" from a review abstract: a number of points means nothing without
            # the scale (2 points is a lot on 0-10 and little on 0-100), so no size is given.
            return (f"The {label + ' ' if label else ''}scale used was not stated, so the size "
                    "of the difference is unknown."), tech
        if rng:
            # The claim's first sentence names the outcome; the range is what the number needs.
            # (Leaving out "disability"/"pain" here keeps the claim at grade 8.)
            on = f" on a {rng.group(0)} scale"
        else:
            on = ""
        if rng or degrees or not m.scale:
            amount = _count(_number(m.estimate), "degree" if degrees else "point")
        else:  # a unit named by the scale itself ("days in hospital")
            amount, on = f"{_number(m.estimate)} {m.scale}", ""
        plain = f"The difference {verb} about {amount}{on}."
        if m.threshold is not None and abs(m.benefit) < m.threshold:
            small = {3: "That is", 2: "That is probably", 1: "That may be"}[strength]
            plain += f" {small} too small to matter."
        return plain, tech
    if m.measure == "SMD":
        size = next((w for cut, w in _SMD_WORDS if abs(m.benefit) >= cut), "very small")
        return f"The average effect {verb} {size} in size.", tech
    if m.measure in PROPORTION_MEASURES:
        return None, tech  # the statement itself gives "about N in 100"
    if m.measure in ("RR", "OR") and words is not None:
        return _absolute_words(m, question, strength, words, comparator), tech
    if m.measure in ("RR", "OR", "HR", "IRR"):
        return _relative_words(m.estimate, verb), tech
    return None, tech


def _per(value: float, per: int) -> str:
    """A risk as a count per ``per`` people, rounded as a summary-of-findings table rounds."""
    x = value * per
    return f"{x:.0f}" if x >= 1 or x == 0 else "fewer than 1"


def _relative_words(ratio: float, verb: str) -> str:
    """"about half as many", "about a third fewer", "about 1.5 times as many"."""
    if 0.4 <= ratio <= 0.6:
        share = "about half as many"
    elif ratio < 1:
        share = f"about {100 * (1 - ratio):.0f}% fewer"
    else:
        share = f"about {ratio:.1f} times as many"
    there = {"was": "There were", "is probably": "There are probably",
             "may be": "There may be"}.get(verb, "There were")
    return f"{there} {share} cases."


def _risk_with(control: float, ratio: float, measure: str) -> float:
    """Risk with the intervention from the comparator risk and a pooled RR or OR.

    Notes
    -----
    RR: control x RR; OR: control x OR / (1 - control + control x OR) (Cochrane Handbook
    15.4.4, GRADE summary-of-findings tables; Guyatt 2013, GRADE 12).
    """
    if measure == "OR":
        return control * ratio / (1 - control + control * ratio)
    return min(1.0, control * ratio)


def _absolute_words(m, question, strength: int, words: Wording, comparator: str | None) -> str:
    """Absolute numbers per 100 or 1000 at the median comparator risk of the included trials."""
    verb = {3: "was", 2: "is probably", 1: "may be"}[strength]
    cr = m.control_risk
    if cr is None:
        rel = _relative_words(m.estimate, verb)
        return rel
    per = 100 if cr >= 0.1 else 1000
    treated = _risk_with(cr, m.estimate, m.measure)
    lo = _risk_with(cr, m.ci_low, m.measure) if m.ci_low is not None else None
    hi = _risk_with(cr, m.ci_high, m.measure) if m.ci_high is not None else None
    text = words("absolute_effect", comparator=comparator or "the comparison",
                 control=_per(cr, per), per=per, outcome=question.outcome.strip(), verb=verb,
                 treated=_per(treated, per))
    if lo is not None and hi is not None:
        text = text.rstrip(".") + f" (95% CI {_per(lo, per)} to {_per(hi, per)} in {per})."
    return text


#: Comparator kinds against which a result is a comparison of two treatments: "less than" or
#: "about as effective as" the comparator, never "increases pain" (docs/claims.md).
ACTIVE_COMPARATOR_KINDS = frozenset({"active"})


def is_mechanism(question) -> bool:
    """Whether a question asks how a treatment works rather than how large its effect is.

    Declared, not guessed: ``kind: mechanism`` or ``mechanism`` among ``outcome_domains``.
    """
    return question.kind == "mechanism" or "mechanism" in (question.outcome_domains or ())


_ORDINALS = ("another study", "a third study", "a fourth study")


def _frequencies(items, unit: str) -> list[str]:
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


def _frequency_statement(items, outcome: str, strength: int, words: Wording) -> str:
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


def _active_statement(rating: CertaintyRating, question, strength: int, words: Wording,
                      comparator: str, library) -> str | None:
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


def _statement(rating: CertaintyRating, question, strength: int, words: Wording | None = None,
               comparator: str | None = None, library=None, comparator_kind: str | None = None
               ) -> str:
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
        return words("proportion_statement", number=_per(m.estimate, 100), had=had,
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


# ---------------------------------------------------------------------------------------------
# which studies the claim rests on


#: A study is called "very small" below this many people per group (or, for a within-person
#: trial or when group sizes are unknown, below this many people in all for one group's worth:
#: ``2 * SMALL_STUDY_PER_GROUP`` for a two-group study). Our judgement, not a published cut-off:
#: with 30 per group a two-group trial has 80 % power (two-sided alpha 0.05) only for an effect of
#: about SMD 0.74, a moderate-to-large effect (Cohen's 0.5/0.8), so smaller trials can show little
#: but large effects and are prone to small-study effects (Cochrane Handbook 13.3).
SMALL_STUDY_PER_GROUP = 30

_NO_BENEFIT = frozenset({"no-difference", "harm"})


def _counted(rating: CertaintyRating, library) -> list[EvidenceItem]:
    """Items that count toward the rating: direction or size, not represented through a review."""
    used = list(rating.used_items())
    main = rating.main
    if main is None or main.source != "review-pooled":
        return used
    from .certainty import _study_links

    review = main.records[0].split("#")[0]
    inside = _study_links(library).get(review, set())
    return [i for i in used if i.study not in inside]


def _study_vote(items: list[EvidenceItem]) -> str:
    """One vote per study, as certainty counts it: benefit, harm, none or mixed."""
    dirs = {("benefit" if i.supports_benefit else "harm" if i.direction == "harm" else "none")
            for i in items}
    return dirs.pop() if len(dirs) == 1 else "mixed"


def _words(direction: str | None) -> str:
    return {"benefit": "a benefit", "no-difference": "no difference", "harm": "harm",
            "mixed": "mixed results", "unclear": "no clear direction"}.get(direction or "",
                                                                           "no clear direction")


def _reason_contrary(items: list[EvidenceItem], intervention: str = "the intervention") -> str:
    parts = []
    for i in items:
        if i.direction == "harm":
            parts.append(f"{i.record}: worse with {intervention}")
        elif i.supports_benefit:
            parts.append(f"{i.record}: a benefit")
        elif i.direction == "benefit" and i.clinically_important is False:
            parts.append(f"{i.record}: a difference judged too small to matter")
        elif i.direction == "no-difference":
            parts.append(f"{i.record}: no clear difference")
        else:
            parts.append(f"{i.record}: no clear direction")
    return "no worthwhile benefit (" + "; ".join(parts) + ")"


def _reason_considered(items: list[EvidenceItem], question, study, review: str | None) -> str:
    roles = {i.role for i in items}
    if review is not None and roles & {"estimate", "direction"}:
        return f"included in {review}, which carries the estimate: counted once, through it"
    if roles & {"estimate", "direction"}:
        used = [i for i in items if i.role in ("estimate", "direction")]
        if all(i.direction in ("unclear", None) for i in used):
            return ("no test between the groups, so no direction of effect (" +
                    ", ".join(i.record for i in used) + ")")
        return ("results point different ways, so no clear vote (" +
                "; ".join(f"{i.record}: {_words('benefit' if i.supports_benefit else i.direction)}"
                          for i in used) + ")")
    if "within-group" in roles:
        return ("only changes within a group, which cannot show an effect of "
                f"{question.intervention.strip()}")
    if study.design == "protocol":
        return "a trial protocol: a plan, with no results"
    if study.design == "narrative-review":
        return "a narrative review: expert opinion, not rated as evidence"
    if question.kind == "harm":
        return "no data on side effects in the reports we had"
    return "no result for this question in the reports we had"


def _split(question, rating: CertaintyRating, library):
    """(support, contrary notes, considered notes, records) for one claim.

    Support is what the claim rests on. For a benefit claim: the study that carries the main
    estimate and every counted study whose own vote (as certainty counts it) is a benefit. A
    counted study whose results show no worthwhile benefit is contrary; anything else in the
    evidence list was considered, with the reason. For other directions, every counted study
    supports the (hedged or null) statement. For "no evidence" and mechanism claims, the claim
    is about what the evidence list holds, so the whole list is cited.
    """
    counted = _counted(rating, library)
    counted_ids = list(dict.fromkeys(i.study for i in counted))
    by_study: dict[str, list[EvidenceItem]] = {}
    for item in rating.items:
        by_study.setdefault(item.study, []).append(item)
    main = rating.main
    main_studies = {r.split("#")[0] for r in (main.records if main else ())}
    review = (next(iter(main_studies)) if main is not None and main.source == "review-pooled"
              else None)
    order = list(dict.fromkeys([ev.study for ev in question.evidence] + list(by_study)))

    if rating.direction == "no-evidence" or question.kind == "mechanism":
        support = [s for s in order if s in by_study]
        records = [i.record for i in rating.items if i.result] + [
            s for s in support if not any(i.result for i in by_study[s])]
        return support, [], [], list(dict.fromkeys(records))

    support, contrary, considered = [], [], []
    for sid in order:
        items = by_study.get(sid, [])
        counted_items = [i for i in items if i in counted]
        if sid in counted_ids and rating.direction == "benefit":
            vote = _study_vote(counted_items)
            if sid in main_studies or vote == "benefit":
                support.append(sid)
            elif vote in ("none", "harm") and any(
                    i.direction in _NO_BENEFIT or i.clinically_important is False
                    for i in counted_items):
                contrary.append(StudyNote(sid, _reason_contrary(counted_items,
                                                           question.intervention.strip()),
                                          tuple(i.record for i in counted_items)))
            else:
                considered.append(StudyNote(sid, _reason_considered(
                    counted_items, question, library.study(sid), None),
                    tuple(i.record for i in items if i.result)))
        elif sid in counted_ids:
            support.append(sid)
        else:
            inside = review if any(i.role in ("estimate", "direction") for i in items) else None
            considered.append(StudyNote(sid, _reason_considered(items, question,
                                                                library.study(sid), inside),
                                        tuple(i.record for i in items if i.result)))
    records = [i.record for i in counted if i.study in support]
    return support, contrary, considered, list(dict.fromkeys(records))


# ---------------------------------------------------------------------------------------------
# caveats


class _Derived(NamedTuple):
    """A caveat the rating implies. ``about`` names the studies it is about (empty: the body)."""

    rank: int
    kind: str
    text: str
    about: tuple[str, ...] = ()


#: Order in which caveats are shown (GRADE's order of concern): what contradicts the claim
#: first, then risk of bias, imprecision, indirectness, then the rest.
_RANK_CONTRARY, _RANK_BIAS, _RANK_IMPRECISION, _RANK_INDIRECT, _RANK_OTHER = range(5)

#: Study caveats: "negative trial" joins the first group; the rest follow, per study, in this order.
_KIND_ORDER = ("negative-trial", "mechanism-hypothesis", "adverse-events-not-reported",
               "misreported", "protocol-change", "risk-of-bias", "no-sham", "no-control",
               "conflict-of-interest", "imprecision", "small-sample", "only-p-values",
               "population", "short-follow-up", "other")

_SHAM_WORDS = re.compile(r"\b(sham|placebo|fake)\b", re.I)
_UNKNOWN_WORDS = re.compile(r"not (stated|named|visible|reported|given)", re.I)
_IMMEDIATE = re.compile(r"^\s*(immediate|right after|just after)", re.I)


def _comparator(item: EvidenceItem, library) -> str:
    """'sham', 'other' or 'unknown': what the result's comparison was, as recorded."""
    study = library.study(item.study)
    result = study.result(item.result) if item.result else None
    kinds = {a.comparator_kind for a in study.arms if a.role == "comparator" and a.comparator_kind}
    kind = getattr(result, "comparator_kind", None) or (kinds.pop() if len(kinds) == 1 else None)
    if kind is not None:
        return "sham" if kind == "sham-or-placebo" else "other"
    text = (result.comparison or "") if result is not None else ""
    if _SHAM_WORDS.search(text):
        return "sham"
    if not text or _UNKNOWN_WORDS.search(text):
        return "sham" if any(a.sham for a in study.arms) and not text else "unknown"
    return "other"


def _group_sizes(study) -> list[int]:
    return [a.n_randomised or a.n_analysed for a in study.arms
            if a.role in ("intervention", "comparator") and (a.n_randomised or a.n_analysed)]


def _very_small(study, n: int | None) -> tuple[bool, str]:
    """(is very small, how to say its size) by :data:`SMALL_STUDY_PER_GROUP`."""
    groups = _group_sizes(study)
    if study.design == "within-subject-trial" or study.design == "case-series":
        return (n is not None and n < SMALL_STUDY_PER_GROUP), _count(n or 0, "person", "people")
    if groups and len(groups) >= 2:
        return min(groups) < SMALL_STUDY_PER_GROUP, f"{min(groups)} people in a group"
    if n is not None and study.design in ("randomised-trial", "non-randomised-comparison"):
        return n < 2 * SMALL_STUDY_PER_GROUP, _count(n, "person", "people")
    return False, ""  # a review's n is many trials together: not "a small study"


def _derived_caveats(rating: CertaintyRating, question, library, counted: list[EvidenceItem],
                     contrary: list[StudyNote], considered: list[StudyNote],
                     words: Wording | None = None) -> list[_Derived]:
    """Caveats the rating implies, each true of the results ``counted`` for this claim."""
    words = words or Wording(intervention=question.intervention.strip())
    out: list[_Derived] = []
    studies = {i.study: library.study(i.study) for i in rating.items}
    counted_ids = list(dict.fromkeys(i.study for i in counted))
    steps = {s.domain: s for s in rating.steps}
    if question.kind == "mechanism":
        out.append(_Derived(_RANK_CONTRARY, "mechanism-hypothesis",
                            words("mechanism_hypothesis")))
    if rating.direction == "no-evidence":
        out.append(_Derived(_RANK_CONTRARY, "no-control",
                            "No study in our evidence tested this." if question.kind != "harm" else
                            "The studies we have did not report side effects. So we cannot say "
                            "how common they are."))
    if rating.main is not None and rating.main.measure in PROPORTION_MEASURES:
        out.append(_Derived(_RANK_CONTRARY, "no-control", words("proportion_caveat")))
    votes = _vote_text(rating)
    if votes and question.kind != "mechanism":
        out.append(_Derived(_RANK_CONTRARY, "negative-trial", votes))
    for note in contrary:
        what = "review" if studies[note.study].design == "systematic-review" else "study"
        out.append(_Derived(_RANK_CONTRARY, "negative-trial",
                            f"One {what} did not find a worthwhile benefit. This was "
                            f"{_short_name(studies[note.study])}."))  # always named
    if question.kind == "harm" and rating.direction != "no-evidence":
        evidence = list(dict.fromkeys(ev.study for ev in question.evidence))
        silent = [s for s in evidence if s not in counted_ids]
        if silent:
            out.append(_Derived(_RANK_CONTRARY, "adverse-events-not-reported",
                                f"{len(silent)} of the {len(evidence)} studies gave no data on "
                                "side effects."))

    # risk of bias, in the rating's own terms
    rob = steps.get("risk-of-bias")
    if counted and rob is not None and rob.change < 0 and not rob.override:
        levels = {i.risk_of_bias for i in counted}
        one = len(counted_ids) == 1
        if rob.change <= -2:
            text = ("The study had serious flaws in how it was done." if one else
                    "Every study had serious flaws in how it was done.")
        elif levels & {"high"} and levels & {"not-assessable", "not-applicable"}:
            text = ("Most of the evidence comes from studies with flaws, or whose methods we "
                    "could not check.")
        elif "high" in levels:
            text = ("The study had flaws in how it was done." if one else
                    "Most of the evidence comes from studies with flaws in how they were done.")
        else:
            text = ("We could not check how well the study was done." if one else
                    "We could not check how well most of these studies were done.")
        out.append(_Derived(_RANK_BIAS, "risk-of-bias", text))
    if counted and question.kind != "mechanism":
        kinds = {_comparator(i, library) for i in counted}
        if "sham" not in kinds and kinds == {"other"}:
            out.append(_Derived(_RANK_BIAS, "no-sham", words("no_sham")))
        elif kinds == {"unknown"} and not (rating.main is not None
                                           and rating.main.measure in PROPORTION_MEASURES):
            out.append(_Derived(_RANK_BIAS, "other", words("comparator_unknown")))
    within = [i for i in rating.items if i.role == "within-group"]
    if within:
        out.append(_Derived(_RANK_BIAS, "no-control", words("within_group_only"),
                            tuple(dict.fromkeys(i.study for i in within))))

    # imprecision
    m = rating.main
    imp = steps.get("imprecision")
    if m is not None and m.benefit_low is not None and imp is not None and imp.change < 0 \
            and rating.index > 0:
        lo, hi, t = m.benefit_low, m.benefit_high, m.threshold
        text = None
        if rating.direction == "no-difference" and t is not None and (hi > t or lo < -t):
            # "little to no difference": the worry is an important effect, not zero
            text = "The true difference could be big enough to matter."
        elif lo < 0 < hi:
            text = "The results are too unsure to rule out no difference at all."
        elif t is not None and (lo < t < hi or lo < -t < hi):
            text = "The true difference could be too small to matter."
        elif t is None and not m.scale_stated:
            text = ("The scale used was not stated. So we cannot tell if the difference is big "
                    "enough to matter.")
        if text:
            about = tuple(dict.fromkeys(r.split("#")[0] for r in m.records))
            out.append(_Derived(_RANK_IMPRECISION, "imprecision", text,
                                about if len(about) == 1 else ()))
    if (m is not None and m.threshold is not None and m.measure not in RATIO_MEASURES
            and _judged(question) and rating.index > 0 and (
                rating.direction == "no-difference"
                or any(s.domain == "imprecision" and s.change < 0 for s in rating.steps))):
        # The claim or its caveats lean on the threshold: say whose it is.
        ie = question.important_effect
        unit = "" if m.measure == "SMD" else " " + _unit_of(ie.scale, ie.value)
        value = f"{ie.smd:g} standard deviations" if m.measure == "SMD" and ie.smd else \
            f"{ie.value:g}{unit}"
        out.append(_Derived(_RANK_IMPRECISION, "other",
                            f"What counts as a difference that matters ({value}) is our own "
                            "choice. It does not come from a study."))
    n = rating.total_n()
    small = [(s, words) for s in counted_ids
             for ok, words in [_very_small(studies[s], max(
                 (i.n or 0 for i in counted if i.study == s), default=0) or None)] if ok]
    if counted and n is not None and n < OPTIMAL_INFORMATION_SIZE and rating.n_complete():
        one = len(counted_ids) == 1
        out.append(_Derived(_RANK_IMPRECISION, "small-sample",
                            f"Only {n} people took part"
                            + (" in all." if not one else ".")
                            + " That is too few to be sure of the result.",
                            tuple(counted_ids) if one else ()))
    elif small:
        fewest = min(small, key=lambda x: int(x[1].split()[0]))
        out.append(_Derived(_RANK_IMPRECISION, "small-sample",
                            f"{len(small)} of the {len(counted_ids)} studies "
                            f"{'was' if len(small) == 1 else 'were'} very small, with as few as "
                            f"{fewest[1]}.", tuple(s for s, _ in small)))
    if rating.synthesis == "vote-counting":
        out.append(_Derived(_RANK_IMPRECISION, "only-p-values",
                            "The studies gave no numbers we could combine, so we cannot tell "
                            "how big any change was."))

    # indirectness and timing
    for text in sorted({i.indirect for i in counted if i.indirect}):
        out.append(_Derived(_RANK_INDIRECT, "population",
                            f"Some results come from {text.rstrip('.')}. They may not apply to "
                            "you.", tuple(sorted({i.study for i in counted
                                                  if i.indirect == text}))))
    times = [i.time_point or "" for i in counted]
    if counted and question.kind not in ("mechanism", "harm") and all(
            _IMMEDIATE.search(t) for t in times):
        out.append(_Derived(_RANK_INDIRECT, "short-follow-up",
                            "Results were measured right after treatment. We do not know if they "
                            "lasted."))
    if considered and rating.direction == "benefit":
        names = [_short_name(studies[n.study]) if n.study in studies else n.study
                 for n in considered]
        listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
        out.append(_Derived(_RANK_OTHER, "other",
                            f"{listed} gave no clear answer, so we did not count "
                            f"{'it' if len(names) == 1 else 'them'} as support."))
    return out


def _unit_of(scale: str, value: float) -> str:
    """'points' / 'degrees' from a threshold's scale text, agreeing with the number."""
    word = "degree" if "degree" in scale.lower() else "point"
    return word if f"{value:g}" == "1" else word + "s"


_AUTHOR_YEAR = re.compile(r"\(([^()]*\b\d{4}[a-z]?)\)\s*$")


def _short_name(study) -> str:
    """'Lew 2021' from 'Six-trial meta-analysis, random effects (Lew 2021)': easier to read."""
    m = _AUTHOR_YEAR.search(study.short_title or "")
    return m.group(1) if m else study.short_title


def _norm(text: str) -> str:
    return " ".join(str(text).split())


def _assemble(question, library, derived: list[_Derived], counted: set[str] = frozenset()
              ) -> tuple[tuple[str, ...], tuple[tuple[str, str, str], ...]]:
    """Caveats in reading order, each once, and the study caveats the question's kinds exclude.

    Rules (docs/claims.md): a study caveat is carried, word for word, when its kind is in the
    question's ``caveat_kinds`` (or the evidence entry's own list; default: all kinds). Derived
    caveats of the same kind and meaning are merged. A derived caveat about particular studies is
    left out when each of them carries its own caveat of that kind in this claim: the study says
    it in its own words, and the reader sees the point once.
    """
    study_cavs: list[tuple[int, int, int, str, str, str]] = []  # rank, study pos, kind pos, ...
    excluded: list[tuple[str, str, str]] = []
    seen_studies: list[str] = []
    for ev in question.evidence:
        if ev.study in seen_studies:
            continue
        seen_studies.append(ev.study)
        allowed = ev.caveat_kinds if ev.caveat_kinds is not None else question.caveat_kinds
        for cav in library.study(ev.study).caveats:
            if allowed is not None and cav.kind not in allowed:
                excluded.append((ev.study, cav.kind, _norm(cav.text)))
                continue
            # A negative trial's own words lead only where its results count for this claim;
            # elsewhere they are that study's detail.
            rank = (_RANK_CONTRARY if cav.kind == "negative-trial" and ev.study in counted
                    else _RANK_OTHER + 1)
            study_cavs.append((rank, len(seen_studies), _KIND_ORDER.index(cav.kind),
                               ev.study, cav.kind, _norm(cav.text)))
    own = {(s, k) for _, _, _, s, k, _ in study_cavs}
    kept: list[tuple[int, int, int, str]] = []
    merged: set[tuple[str, str]] = set()
    for pos, d in enumerate(derived):
        if d.about and all((s, d.kind) in own for s in d.about):
            continue
        key = (d.kind, _norm(d.text).lower())
        if key in merged:
            continue
        merged.add(key)
        kept.append((d.rank, 0, pos, _norm(d.text)))
    kept += [(r, 1 + sp, kp, t) for r, sp, kp, _, _, t in study_cavs]
    kept.sort(key=lambda x: x[:3])
    out: list[str] = []
    for *_, text in kept:
        if text.lower() not in {x.lower() for x in out}:
            out.append(text)
    return tuple(out), tuple(excluded)


# ---------------------------------------------------------------------------------------------


def _wording(library, question) -> Wording:
    settings = getattr(library, "settings", None)
    overrides = getattr(settings, "wording", None) if settings is not None else None
    return Wording(overrides, intervention=question.intervention.strip())


def _effect_dict(rating: CertaintyRating) -> dict[str, Any] | None:
    """The ``effect`` JSON object: natural scale, every method named (DESIGN.md)."""
    m = rating.main
    if m is None:
        return None

    def num(x):
        return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else float(x)

    return {"measure": m.measure, "estimate": num(m.estimate), "ci_low": num(m.ci_low),
            "ci_high": num(m.ci_high), "pi_low": num(m.pi_low), "pi_high": num(m.pi_high),
            "k": m.k, "participants": m.n, "tau2": num(m.tau2), "i2": num(m.i2),
            "method": m.method or ("as reported by the review" if m.source == "review-pooled"
                                   else "single study"),
            "ci_method": m.ci_method or "as reported",
            "source": m.source, "records": list(m.records),
            "assumed_control_risk": num(m.control_risk)}


def _domains_dict(rating: CertaintyRating) -> dict[str, dict[str, Any]]:
    steps = {s.domain: s for s in rating.steps}
    out = {}
    for name, key in DOMAIN_KEYS.items():
        step = steps.get(name)
        if step is None:
            reason = ("no study answers this comparison, so there is nothing to judge"
                      if rating.direction == "no-evidence" else "not assessed")
            out[key] = {"change": 0, "reason": reason}
        else:
            out[key] = {"change": int(step.change), "reason": step.reason}
    return out


def _claim_for(question, rating: CertaintyRating, library, comparison=None,
               several: bool = False) -> Claim:
    strength = max_strength(rating.level)
    words = _wording(library, question)
    # Citations must resolve in references.bib: a key without an entry is left out (the library's
    # validation reports the missing entry); only a library without references cites every study.
    refs = getattr(library, "references", None)
    support, contrary, considered, records = _split(question, rating, library)

    def resolves(keys):
        return tuple(k for k in keys if refs is None or k in refs)

    kind = comparison.kind if comparison is not None else None
    comparator = (comparison.text if comparison is not None and kind not in ("none",) else None)
    active = (kind or getattr(question, "comparator_kind", None)) in ACTIVE_COMPARATOR_KINDS
    if active and comparator is None:
        # "works less well than the other treatment" must say which treatment, on every path.
        comparator = (question.comparator or "").strip() or None
    statement = _statement(rating, question, strength, words, comparator, library,
                           kind or getattr(question, "comparator_kind", None))
    plain, tech = _size_words(rating, question, words, comparator)
    if active and plain and plain.startswith("The average effect "):
        # Two treatments compared: the size is of the difference between them, not an effect.
        plain = "The difference between them " + plain[len("The average effect "):]
    # Mechanism claims give no vote count: "1 of 1 study found a benefit" would read as support
    # for a hypothesis that the evidence cannot carry.
    if comparator and rating.direction != "no-evidence" and not is_mechanism(question):
        # GRADE 26 statements name the comparison; so does every claim here, in a sentence of its
        # own (it states what was compared, not an effect, and keeps the claim readable).
        statement = f"{statement} {words('comparison_sentence', comparator=comparator)}"
    text = (statement if plain is None or rating.direction == "no-evidence"
            or is_mechanism(question) else f"{statement} {plain}")

    counted = _counted(rating, library)
    derived = _derived_caveats(rating, question, library, counted, contrary, considered, words)
    caveats, excluded = _assemble(question, library, derived, {i.study for i in counted})
    certainty = NO_EVIDENCE if rating.direction == "no-evidence" else rating.level
    title = question.title
    if several and comparison is not None:
        title = f"{question.title}: {words('compared_with', comparator=comparison.text)}"
    if comparison is not None and kind == "none":
        label = f"{question.intervention.strip()} (no comparison group)"
    elif comparison is not None:
        label = f"{question.intervention.strip()} vs {comparison.text}"
    else:
        label = f"{question.intervention.strip()} vs {question.comparator}"
    return _disclosed(question, rating, library, Claim(
                 question=question.id, title=title, kind=question.kind, claim=text,
                 certainty=certainty, direction=rating.direction, caveats=caveats,
                 citations=resolves(support), records=tuple(records),
                 contrary=tuple(n.study for n in contrary),
                 contrary_citations=resolves(n.study for n in contrary), size=tech,
                 certainty_reasons=tuple(rating.reasons()), topics=tuple(question.topics),
                 contrary_reasons=tuple(contrary), considered=tuple(considered),
                 considered_citations=resolves(n.study for n in considered),
                 excluded_caveats=excluded, comparison=label, comparator_kind=kind,
                 effect=_effect_dict(rating), domains=_domains_dict(rating)))


def make_claims(library, ratings: Mapping[str, CertaintyRating] | None = None, *,
                by_comparison: bool = True) -> ClaimSet:
    """One claim per question in ``library.questions``, worded no stronger than its certainty.

    Parameters
    ----------
    library
        A loaded library (``.questions``, ``.studies``, ``.study()``, ``.references``).
    ratings
        Ratings by question id (e.g. with clinician overrides); missing ones are computed with
        :func:`~evidencekit.grade.certainty.rate_certainty`.
    by_comparison
        One claim per comparison (comparator kind) of each question, never pooling or counting
        different kinds together (the default, as ``evidencekit claims`` and ``build``). False
        gives one claim per question over all of its evidence, for comparing with older output
        only: such a claim may merge comparators.

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
    from .comparisons import split_by_comparison

    ratings = dict(ratings or {})
    out = []
    for qid, question in library.questions.items():
        question = without_excluded(question, library)  # the review team's exclusions
        comparisons = split_by_comparison(question, library) if by_comparison else [None]
        several = len(comparisons) > 1
        for comp in comparisons:
            # A rating given for the whole question is used only when the question makes one
            # comparison: a rating that merges comparators is never worded.
            key = qid if comp is None or not several else f"{qid}|{comp.kind}"
            rating = ratings.get(key) if several else ratings.get(qid)
            sub = question if comp is None else comp.question
            if rating is None:
                rating = rate_certainty(sub, library)
            ratings[key] = rating
            out.append(_claim_for(sub, rating, library, comp, several))
    return ClaimSet(claims=tuple(out), ratings=ratings)


# ---------------------------------------------------------------------------------------------
# sensitivity analyses and the review team's decisions (issue 16)

#: The caveat of a claim whose direction flips under a sensitivity analysis: plain words, since
#: patients read it; the clinician summary names the analyses (``sensitivity_note``).
FLIP_CAVEAT = ("The direction of this result is not firm: when the same studies are combined "
               "in other reasonable ways, the result points the other way.")


def _disclosed(question, rating: CertaintyRating, library, claim: Claim) -> Claim:
    """``claim`` with its sensitivity analyses and the decisions that shaped it, disclosed.

    Notes
    -----
    Sensitivity analyses as the Cochrane Handbook (10.14) lists them, re-run by
    :func:`evidencekit.stats.sensitivity.for_rating`; a flip of direction becomes a caveat. An override
    is disclosed with the level before and after it (GRADE 1: judgements transparent), read from
    the rating without the overrides; the caveats it sets aside stay, with the disclosure after
    them, so the reader sees both.
    """
    import dataclasses

    report = for_rating(rating) if claim.effect is not None else None
    sensitivity, note, caveats = (), "", list(claim.caveats)
    if report is not None:
        sensitivity = tuple(report.to_list())
        check = report.direction_check()
        note = check.sentence
        if check.flips:
            caveats.append(FLIP_CAVEAT)
    elif claim.effect is not None:
        note = ("No sensitivity analysis: " + (
            "the estimate is a review's own pooled result, and the review's study data are not "
            "held here to re-run it" if claim.effect.get("source") == "review-pooled" else
            "the estimate comes from a single study, so there is no pooling to vary") + ".")
    decisions = question_decisions(question)
    disclosures: list[str] = []
    if decisions.overrides:
        rules_only = question.model_copy(update={"decisions": {
            "exclude": [e.to_dict() for e in decisions.exclusions]} or None})
        disclosures += compare_ratings(rate_certainty(rules_only, library), rating,
                                       decisions).disclosures
        caveats += [d for d in disclosures if d not in caveats]
    if decisions.exclusions:
        disclosures += apply_exclusions([e.record for e in decisions.exclusions],
                                        decisions).disclosures
    return dataclasses.replace(claim, sensitivity=sensitivity, sensitivity_note=note,
                               caveats=tuple(caveats), decisions=tuple(disclosures),
                               excluded=tuple(e.to_dict() for e in decisions.exclusions))


def _decision_and_sensitivity_lines(claim: Claim) -> list[str]:
    """The text-summary lines of a claim's decisions and sensitivity analyses."""
    def num(x):
        return "NA" if x is None or not math.isfinite(x) else f"{x:.4g}"

    lines = [f"  decision: {d}" for d in claim.decisions]
    lines += [f"  sensitivity: {r['analysis']}: {num(r['estimate'])} (95% CI "
              f"{num(r['ci_low'])} to {num(r['ci_high'])}), k = {r['k']}"
              for r in claim.sensitivity]
    if claim.sensitivity_note:
        lines.append(f"  sensitivity note: {claim.sensitivity_note}")
    return lines
