"""The body of evidence for one question: each study result it points to, read from the records.

A question's ``evidence`` list names studies and result ids; each result becomes an
:class:`EvidenceItem` whose effect is computed from the record's data through the effect-size engine,
on the "benefit" scale (positive is better for the patient). Also here: which trials a review
includes, so a trial is never counted twice beside the review that pools it.

Notes
-----
GRADE Handbook (Schünemann et al. 2013) 5.1: a body of evidence is the set of study results that
inform one outcome; expert opinion and plans are not rated.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..vocab import PROPORTION_MEASURES, RATIO_MEASURES
from ..evidence.records import EffectEstimate, ProportionResult, Question, Result, Study

if TYPE_CHECKING:
    from ..evidence.library import Library

__all__ = ["EvidenceItem", "gather_body", "included_trials"]


@dataclass(frozen=True)
class EvidenceItem:
    """One study result (or a whole study) as it enters a question's body of evidence.

    ``role`` says how it is used: ``estimate`` (an effect with a CI), ``direction`` (a p-value or
    words: direction only), ``within-group`` (change inside one group: not evidence of an effect),
    ``no-data`` (a study without usable results, e.g. a protocol or a narrative review).
    ``benefit`` and its CI are on the "benefit" scale: positive means better for the patient.
    """

    study: str
    result: str | None
    design: str
    role: str
    direction: str
    contrast: str | None = None
    measure: str | None = None
    estimate: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    benefit: float | None = None
    benefit_low: float | None = None
    benefit_high: float | None = None
    n: int | None = None
    k: int | None = None
    scale: str | None = None
    instrument: str | None = None
    domain: str | None = None
    time_point: str | None = None
    indirect: str | None = None
    clinically_important: bool | None = None
    risk_of_bias: str | None = None
    result_n: int | None = None  # participants in this result itself (not the whole study)
    #: +1 when a larger estimate is better for the patient, -1 when a smaller one is (the sign
    #: that maps ``estimate`` onto ``benefit``); None when the item has no estimate.
    sign: int | None = None
    #: Effect size and sampling variance on the analysis scale (log for ratios, logit for PLO),
    #: computed from the record's data by :func:`evidencekit.stats.synthesis.study_effect`.
    yi: float | None = None
    vi: float | None = None
    control_events: int | None = None
    control_total: int | None = None
    corrected: bool = False
    #: True when the CI is the one the source prints (an effect estimate), not computed here.
    printed_ci: bool = False
    #: Events and total of a single-group proportion as recorded (no continuity correction).
    events: int | None = None
    total: int | None = None

    @property
    def record(self) -> str:
        """``study#result``, or ``study`` for study-level evidence."""
        return f"{self.study}#{self.result}" if self.result else self.study

    @property
    def supports_benefit(self) -> bool:
        """True when this item, read honestly, points to a worthwhile benefit.

        A statistically significant result that its authors (or the question) judge not clinically
        important is not support for a benefit.
        """
        return (self.role in ("estimate", "direction") and self.direction == "benefit"
                and self.clinically_important is not False)


def _results_for(question: Question, study: Study, wanted: tuple[str, ...]) -> list:
    if wanted:
        return [study.result(r) for r in wanted]
    if question.outcome_domains:
        return [r for r in study.results
                if study.outcome(r.outcome).domain in question.outcome_domains]
    return list(study.results)


def _benefit_sign(better: str | None, direction: str, estimate: float) -> int:
    """+1 when a larger estimate is better for the patient, -1 when smaller is."""
    if better == "lower":
        return -1
    if better == "higher":
        return 1
    # No stated direction: trust the recorded reading of the result.
    if direction == "benefit":
        return 1 if estimate >= 0 else -1
    if direction == "harm":
        return -1 if estimate >= 0 else 1
    return 1


def _item_from_result(result: Result, study: Study, indirect: str | None,
                      question: Question | None = None) -> EvidenceItem:
    """One result as an evidence item; its effect computed from its data through the engine."""
    from ..scales import to_natural as natural
    from ..stats.synthesis import data_direction, study_effect

    outcome = study.outcome(result.outcome)
    better = outcome.better or (question.better if question is not None else None)
    base = dict(study=study.id, result=result.id, design=study.design,
                direction=result.direction or "unclear",
                contrast=result.contrast, scale=outcome.scale, instrument=outcome.instrument,
                domain=outcome.domain, time_point=result.time_point, indirect=indirect,
                clinically_important=result.clinically_important,
                risk_of_bias=study.risk_of_bias.overall, n=study.n)
    if result.contrast == "within-group":
        return EvidenceItem(role="within-group", **base)
    measure = question.measure if question is not None else None
    effect = study_effect(result, study, measure)
    if effect is None and measure is not None and isinstance(result, EffectEstimate):
        effect = study_effect(result, study, None)  # a printed estimate in its own measure
    if effect is None:
        return EvidenceItem(role="direction", **base)
    m, yi, vi = effect.measure, effect.yi, effect.vi
    z = 1.959963984540054
    lo, hi = yi - z * math.sqrt(vi), yi + z * math.sqrt(vi)
    if isinstance(result, EffectEstimate) and result.ci_low is not None:
        est_n, lo_n, hi_n = result.estimate, result.ci_low, result.ci_high
        if m in RATIO_MEASURES:
            lo, hi = math.log(lo_n), math.log(hi_n)
        else:
            lo, hi = lo_n, hi_n
    else:
        est_n, lo_n, hi_n = natural(m, yi), natural(m, lo), natural(m, hi)
    if isinstance(result, ProportionResult) or m in PROPORTION_MEASURES:
        sign = 1
        base["direction"] = "unclear"  # one group: no direction of effect exists
    else:
        sign = _benefit_sign(better, result.direction or "unclear", yi)
        derived = data_direction(yi, vi, better) if better else None
        if derived is not None and not (isinstance(result, EffectEstimate) and result.direction
                                        and result.ci_low is None):
            base["direction"] = derived
    blo, bhi = sorted((lo * sign, hi * sign))
    base["n"] = effect.n or (result.n_participants if isinstance(result, EffectEstimate)
                             else None) or study.n
    return EvidenceItem(role="estimate", measure=m, estimate=est_n, ci_low=lo_n, ci_high=hi_n,
                        benefit=yi * sign, benefit_low=blo, benefit_high=bhi,
                        result_n=(result.n_participants if isinstance(result, EffectEstimate)
                                  else effect.n),
                        k=result.k_studies if isinstance(result, EffectEstimate) else None,
                        sign=sign, yi=yi, vi=vi, control_events=effect.control_events,
                        control_total=effect.control_total, corrected=effect.corrected,
                        printed_ci=isinstance(result, EffectEstimate) and result.ci_low is not None,
                        events=result.events if isinstance(result, ProportionResult) else None,
                        total=result.total if isinstance(result, ProportionResult) else None,
                        **base)


def gather_body(question: Question, library: Library) -> tuple[list[EvidenceItem], list[str]]:
    items: list[EvidenceItem] = []
    notes: list[str] = []
    for ev in question.evidence:
        study = library.study(ev.study)
        indirect = ev.indirect
        if study.design == "animal-study" and not indirect:
            indirect = "animal study, not people"
        if study.design in ("narrative-review", "protocol"):
            # Expert opinion and plans are not evidence of an effect (GRADE Handbook 5.1 rates
            # bodies of study results; opinion is not rated). They are still cited and their
            # caveats carried.
            items.append(EvidenceItem(study=study.id, result=None, design=study.design,
                                      role="no-data", direction="unclear",
                                      risk_of_bias=study.risk_of_bias.overall))
            continue
        results = _results_for(question, study, ev.results)
        if not results:
            items.append(EvidenceItem(study=study.id, result=None, design=study.design,
                                      role="no-data", direction="unclear",
                                      risk_of_bias=study.risk_of_bias.overall))
            notes.append(f"{study.id}: no result for this question's outcomes")
            continue
        for result in results:
            ind = indirect
            if result.contrast == "treated-vs-untreated-side" and not ind:
                ind = "the untreated opposite side served as control"
            items.append(_item_from_result(result, study, ind, question))
    return items, notes


def included_trials(library: Library) -> dict[str, set[str]]:
    """Review -> included trials, from both ends of the ``includes``/``included-in`` links."""
    included: dict[str, set[str]] = {}
    for sid, study in library.studies.items():
        for result in study.results:  # a pooled result that names its trials
            if isinstance(result, EffectEstimate) and result.includes:
                included.setdefault(sid, set()).update(result.includes)
        for link in study.links:
            if link.relation == "includes":
                included.setdefault(sid, set()).add(link.target)
            elif link.relation == "included-in":
                included.setdefault(link.target, set()).add(sid)
    return included
