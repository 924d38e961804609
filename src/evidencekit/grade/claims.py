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
from typing import TYPE_CHECKING, Any, Mapping

from ..vocab import DOMAIN_JSON_KEYS, NO_EVIDENCE
from .caveats import assemble_caveats, derived_caveats
from .certainty import rate_certainty
from .decisions import question_decisions
from .disclosure import apply_exclusions, compare_ratings, without_excluded
from .effect_words import size_words
from .estimate import estimate_text
from .ladder import max_strength, strength_of
from .rating import CertaintyRating
from .statements import ACTIVE_COMPARATOR_KINDS, claim_statement, is_mechanism
from .support import StudyNote, counted_for_claim, split_support
from .wording import Wording
from ..stats.sensitivity import for_rating

if TYPE_CHECKING:
    from ..evidence.library import Library
    from ..evidence.records import Question
    from .comparisons import Comparison

__all__ = ["Claim", "ClaimSet", "make_claims"]


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

    #: The question's id and title (with the comparison when the question makes several).
    question: str
    title: str
    #: The question's kind (``benefit``, ``harm``, ``mechanism``, ...), as questions.yaml says.
    kind: str
    #: The sentence patient material may carry, worded no stronger than ``certainty`` allows.
    claim: str
    #: A GRADE level, or "no evidence" when no study answers the comparison.
    certainty: str
    #: What the evidence points to (the rating's direction: benefit, harm, no-difference, ...).
    direction: str
    #: Every caveat, in reading order: those the rating implies, then the studies' own.
    caveats: tuple[str, ...]
    #: BibTeX keys of the studies the claim rests on, and their ``study#result`` records.
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
                shown = estimate_text(e["estimate"], e["ci_low"], e["ci_high"],
                                      measure=e["measure"])
                lines.append(f"  effect: {shown}, k = {e['k']}, {e['method']}, "
                             f"CI {e['ci_method']}")
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


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]


# ---------------------------------------------------------------------------------------------


def _wording(library: Library, question: Question) -> Wording:
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
    for name, key in DOMAIN_JSON_KEYS.items():
        step = steps.get(name)
        if step is None:
            reason = ("no study answers this comparison, so there is nothing to judge"
                      if rating.direction == "no-evidence" else "not assessed")
            out[key] = {"change": 0, "reason": reason}
        else:
            out[key] = {"change": int(step.change), "reason": step.reason}
    return out


def _claim_for(question: Question, rating: CertaintyRating, library: Library,
               comparison: Comparison | None = None, several: bool = False) -> Claim:
    strength = max_strength(rating.level)
    words = _wording(library, question)
    # Citations must resolve in references.bib: a key without an entry is left out (the library's
    # validation reports the missing entry); only a library without references cites every study.
    refs = getattr(library, "references", None)
    support, contrary, considered, records = split_support(question, rating, library)

    def resolves(keys):
        return tuple(k for k in keys if refs is None or k in refs)

    kind = comparison.kind if comparison is not None else None
    comparator = (comparison.text if comparison is not None and kind not in ("none",) else None)
    active = (kind or getattr(question, "comparator_kind", None)) in ACTIVE_COMPARATOR_KINDS
    if active and comparator is None:
        # "works less well than the other treatment" must say which treatment, on every path.
        comparator = (question.comparator or "").strip() or None
    statement = claim_statement(rating, question, strength, words, comparator, library,
                                kind or getattr(question, "comparator_kind", None))
    plain, tech = size_words(rating, question, words, comparator)
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

    counted = counted_for_claim(rating, library)
    derived = derived_caveats(rating, question, library, counted, contrary, considered, words)
    caveats, excluded = assemble_caveats(question, library, derived, {i.study for i in counted})
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


def make_claims(library: Library, ratings: Mapping[str, CertaintyRating] | None = None, *,
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


def _disclosed(question: Question, rating: CertaintyRating, library: Library, claim: Claim
              ) -> Claim:
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
    lines = [f"  decision: {d}" for d in claim.decisions]
    lines += [f"  sensitivity: {r['analysis']}: "
              f"{estimate_text(r['estimate'], r['ci_low'], r['ci_high'])}, k = {r['k']}"
              for r in claim.sensitivity]
    if claim.sensitivity_note:
        lines.append(f"  sensitivity note: {claim.sensitivity_note}")
    return lines
