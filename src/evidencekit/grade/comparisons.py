"""Comparisons: a question is answered per comparison, as a GRADE evidence profile is.

A comparison is the intervention against one kind of comparator (:data:`~evidencekit.evidence.records.
ComparatorKind`) for the question's outcome and time window. Results from different kinds (sham,
no treatment, usual care, another active treatment, an add-on design) are never pooled or counted
together: :func:`split_by_comparison` cuts a question's evidence into one sub-question per kind,
each rated and worded on its own.

The kind of a result is read, first found wins, from: the result's ``comparator_kind``; the
question entry's ``comparator_kind``; the study's comparator arm (``comparator_kind``, or
``sham: true``); the question's ``comparator_kind``; for single-arm data (proportions, case
series) ``none``. Otherwise it is ``unspecified``, a comparison of its own that says so.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from ..vocab import COMPARATOR_KINDS
from ..evidence.records import ProportionResult, Question, QuestionEvidence, Result, Study

if TYPE_CHECKING:
    from ..evidence.library import Library

__all__ = ["KIND_WORDS", "Comparison", "comparator_kind_of", "split_by_comparison"]

#: How each kind reads after "compared with" when the question gives no comparator text for it.
KIND_WORDS = {
    "sham-or-placebo": "a sham or placebo",
    "no-treatment-or-waiting-list": "no treatment or a waiting list",
    "usual-care": "usual care",
    "active": "another active treatment",
    "add-on": "the same care without it (added to other care)",
    "none": "no comparison group",
    "unspecified": "other or unnamed care",
}

#: Order of the comparisons in the output: inactive comparators first (they answer "does it
#: work"), then the rest.
_ORDER = ("sham-or-placebo", "no-treatment-or-waiting-list", "usual-care", "add-on", "active",
          "none", "unspecified")


class Comparison(NamedTuple):
    """One comparison of a question: its kind, the words for it, and its sub-question."""

    kind: str
    text: str
    question: Question

    def label(self, intervention: str) -> str:
        return f"{intervention} vs {self.text}"


def comparator_kind_of(result: Result, entry: QuestionEvidence, study: Study, question: Question
                      ) -> str:
    """The comparator kind of one result in one question (see the module doc for the order)."""
    if getattr(result, "comparator_kind", None):
        return result.comparator_kind
    if entry.comparator_kind:
        return entry.comparator_kind
    if isinstance(result, ProportionResult):
        return "none"
    if result is not None and getattr(result, "contrast", None) == "within-group":
        return question.comparator_kind or "unspecified"
    comparators = [a for a in study.arms if a.role == "comparator"]
    kinds = {a.comparator_kind for a in comparators if a.comparator_kind}
    if len(kinds) == 1:
        return kinds.pop()
    if comparators and all(a.sham for a in comparators):
        return "sham-or-placebo"
    if question.comparator_kind:
        return question.comparator_kind
    if study.design == "case-series":
        return "none"
    return "unspecified"


def _results_of(entry: QuestionEvidence, study: Study, question: Question):
    if entry.results:
        return [study.result(r) for r in entry.results]
    if question.outcome_domains:
        return [r for r in study.results
                if study.outcome(r.outcome).domain in question.outcome_domains]
    return list(study.results)


def split_by_comparison(question: Question, library: Library) -> list[Comparison]:
    """One :class:`Comparison` per comparator kind the question's evidence makes.

    Each comparison's ``question`` is the question with its evidence cut to the results of that
    kind (entries keep their notes, caveat kinds and indirectness). Studies without usable results
    (protocols, narrative reviews, no result for the outcome) go with the question's own kind, or
    with every comparison when it has none, so that their caveats are never lost. A question with
    no evidence gives one comparison of its own kind.
    """
    by_kind: dict[str, list[QuestionEvidence]] = {}
    loose: list[QuestionEvidence] = []
    for entry in question.evidence:
        study = library.study(entry.study)
        results = _results_of(entry, study, question)
        if not results or study.design in ("narrative-review", "protocol"):
            loose.append(entry)
            continue
        groups: dict[str, list[str]] = {}
        for r in results:
            groups.setdefault(comparator_kind_of(r, entry, study, question), []).append(r.id)
        for kind, ids in groups.items():
            by_kind.setdefault(kind, []).append(entry.model_copy(update={"results": tuple(ids)}))
    own = question.comparator_kind
    if not by_kind:
        kind = own or "unspecified"
        return [Comparison(kind, _text(question, kind, only=True), question)]
    kinds = sorted(by_kind, key=lambda k: _ORDER.index(k) if k in _ORDER else len(_ORDER))
    out = []
    for kind in kinds:
        extra = [e for e in loose if own is None or own == kind]
        sub = question.model_copy(update={"evidence": tuple(by_kind[kind]) + tuple(extra)})
        out.append(Comparison(kind, _text(question, kind, only=len(kinds) == 1), sub))
    return out


def _text(question: Question, kind: str, only: bool) -> str:
    """Words for the comparator: the question's own text when it is the only comparison of the
    question's kind, otherwise the kind's words (the question's text may list several)."""
    if kind == "none":
        return KIND_WORDS["none"]
    if (only and question.comparator and (question.comparator_kind in (None, kind))) or (
            question.comparator_kind == kind and question.comparator):
        return question.comparator
    return KIND_WORDS.get(kind, kind)


assert set(KIND_WORDS) >= set(COMPARATOR_KINDS)  # every kind has words
