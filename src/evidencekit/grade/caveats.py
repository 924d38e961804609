"""A claim's caveats: those the rating implies, and the studies' own, in reading order, each once.

Derived caveats say in plain words what the rating found (flawed studies, too few people, no sham,
results measured right after treatment, contrary studies); study caveats are carried word for word
when their kind bears on the question (docs/claims.md).
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, NamedTuple

from ..vocab import PROPORTION_MEASURES, RATIO_MEASURES
from .body import EvidenceItem
from .effect_domains import OPTIMAL_INFORMATION_SIZE
from .effect_words import number_and_noun, threshold_is_judgement
from .rating import CertaintyRating
from .study_names import study_name
from .support import StudyNote
from .wording import Wording

if TYPE_CHECKING:
    from ..evidence.library import Library
    from ..evidence.records import Question, Study

__all__ = ["CAVEAT_KIND_ORDER", "SMALL_STUDY_PER_GROUP", "assemble_caveats", "derived_caveats"]


#: A study is called "very small" below this many people per group (or, for a within-person
#: trial or when group sizes are unknown, below this many people in all for one group's worth:
#: ``2 * SMALL_STUDY_PER_GROUP`` for a two-group study). Our judgement, not a published cut-off:
#: with 30 per group a two-group trial has 80 % power (two-sided alpha 0.05) only for an effect of
#: about SMD 0.74, a moderate-to-large effect (Cohen's 0.5/0.8), so smaller trials can show little
#: but large effects and are prone to small-study effects (Cochrane Handbook 13.3).
SMALL_STUDY_PER_GROUP = 30


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
#: An order over ``records.CaveatKind``, not a vocabulary of its own: a test holds the two equal.
CAVEAT_KIND_ORDER = ("negative-trial", "mechanism-hypothesis", "adverse-events-not-reported",
                     "misreported", "protocol-change", "risk-of-bias", "no-sham", "no-control",
                     "conflict-of-interest", "imprecision", "small-sample", "only-p-values",
                     "population", "short-follow-up", "other")

_SHAM_WORDS = re.compile(r"\b(sham|placebo|fake)\b", re.I)
_UNKNOWN_WORDS = re.compile(r"not (stated|named|visible|reported|given)", re.I)
_IMMEDIATE = re.compile(r"^\s*(immediate|right after|just after)", re.I)


def _comparator(item: EvidenceItem, library: Library) -> str:
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


def _group_sizes(study: Study) -> list[int]:
    return [a.n_randomised or a.n_analysed for a in study.arms
            if a.role in ("intervention", "comparator") and (a.n_randomised or a.n_analysed)]


def _very_small(study: Study, n: int | None) -> tuple[bool, str]:
    """(is very small, how to say its size) by :data:`SMALL_STUDY_PER_GROUP`."""
    groups = _group_sizes(study)
    if study.design == "within-subject-trial" or study.design == "case-series":
        return (n is not None and n < SMALL_STUDY_PER_GROUP), number_and_noun(n or 0, "person", "people")
    if groups and len(groups) >= 2:
        return min(groups) < SMALL_STUDY_PER_GROUP, f"{min(groups)} people in a group"
    if n is not None and study.design in ("randomised-trial", "non-randomised-comparison"):
        return n < 2 * SMALL_STUDY_PER_GROUP, number_and_noun(n, "person", "people")
    return False, ""  # a review's n is many trials together: not "a small study"


def derived_caveats(rating: CertaintyRating, question: Question, library: Library,
                    counted: list[EvidenceItem], contrary: list[StudyNote],
                    considered: list[StudyNote], words: Wording | None = None) -> list[_Derived]:
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
                            f"{study_name(library, note.study)}."))  # always named
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
            and threshold_is_judgement(question) and rating.index > 0 and (
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
        names = [study_name(library, n.study) if n.study in studies else n.study
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


def _norm(text: str) -> str:
    return " ".join(str(text).split())


def assemble_caveats(question: Question, library: Library, derived: list[_Derived],
                     counted: set[str] = frozenset()
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
            study_cavs.append((rank, len(seen_studies), CAVEAT_KIND_ORDER.index(cav.kind),
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
