"""Which studies a claim rests on, which point the other way, and which were only considered.

A study whose results show no worthwhile benefit is never listed as support for a benefit claim:
it is contrary, with its reason. Studies inside the review that carries the estimate are counted
once, through it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from .body import EvidenceItem, included_trials
from .rating import CertaintyRating

if TYPE_CHECKING:
    from ..evidence.library import Library
    from ..evidence.records import Question, Study

__all__ = ["StudyNote", "counted_for_claim", "split_support"]


class StudyNote(NamedTuple):
    """A study named beside a claim but not as its support, with the reason and its records."""

    study: str
    reason: str
    records: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"study": self.study, "reason": self.reason, "records": list(self.records)}


_NO_BENEFIT = frozenset({"no-difference", "harm"})


def counted_for_claim(rating: CertaintyRating, library: Library) -> list[EvidenceItem]:
    """Items that count toward the rating: direction or size, not represented through a review."""
    used = list(rating.used_items())
    main = rating.main
    if main is None or main.source != "review-pooled":
        return used
    review = main.records[0].split("#")[0]
    inside = included_trials(library).get(review, set())
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


def _reason_considered(items: list[EvidenceItem], question: Question, study: Study,
                       review: str | None) -> str:
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


def split_support(question: Question, rating: CertaintyRating, library: Library):
    """(support, contrary notes, considered notes, records) for one claim.

    Support is what the claim rests on. For a benefit claim: the study that carries the main
    estimate and every counted study whose own vote (as certainty counts it) is a benefit. A
    counted study whose results show no worthwhile benefit is contrary; anything else in the
    evidence list was considered, with the reason. For other directions, every counted study
    supports the (hedged or null) statement. For "no evidence" and mechanism claims, the claim
    is about what the evidence list holds, so the whole list is cited.
    """
    counted = counted_for_claim(rating, library)
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
