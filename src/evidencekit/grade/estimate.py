"""The estimate a question's claim rests on: a review's pooled result, our pooling, or one study.

Overlapping reviews are never pooled with each other or with their own trials (double counting);
trial results are pooled one measure (and one scale) at a time with REML and a
Hartung-Knapp-Sidik-Jonkman interval. The important-effect threshold is put on the estimate's own
scale, or left out when the scales cannot be matched.

Notes
-----
Guyatt et al. 2011, GRADE 6 (imprecision), section 4: a 25 % relative change is appreciable when
no threshold is given; Cochrane Handbook v6.4 10.10.4 (random effects, HKSJ) and 15.4.4 (comparator
risk for absolute effects).
"""
from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, NamedTuple

from ..vocab import PROPORTION_MEASURES, RATIO_MEASURES
from ..evidence.records import Question
from .body import EvidenceItem

if TYPE_CHECKING:
    from ..evidence.library import Library

__all__ = ["EffectSummary", "RATIO_APPRECIABLE", "choose_main_estimate", "estimate_text"]


def estimate_text(estimate: float | None, ci_low: float | None = None,
                  ci_high: float | None = None, *, measure: str | None = None,
                  digits: str = ".4g", ci_label: str = "95% CI ") -> str:
    """An estimate and its interval as summaries print them: ``'RR 0.49 (95% CI 0.34 to 0.7)'``.

    Parameters
    ----------
    estimate, ci_low, ci_high
        The numbers, on the natural scale. Without ``ci_low`` the interval is left out; a missing
        or non-finite number prints as "NA" (a NaN bound is not an interval a reader can use).
    measure
        Printed before the estimate ("RR", "SMD") when given.
    digits
        A format specification for every number (``".4g"``, ``".3g"``, ``"g"``, ``".2f"``).
    ci_label
        The words before the bounds inside the brackets ("95% CI "; "" for bare bounds).

    Returns
    -------
    str
    """
    def number(x: float | None) -> str:
        return "NA" if x is None or not math.isfinite(x) else format(x, digits)

    text = number(estimate) if measure is None else f"{measure} {number(estimate)}"
    if ci_low is None:
        return text
    return f"{text} ({ci_label}{number(ci_low)} to {number(ci_high)})"


#: Appreciable relative effect for ratio measures when a question gives none (Guyatt 2011,
#: GRADE 6, section 4: "a relative risk reduction or increase greater than 25 %").
RATIO_APPRECIABLE = 1.25


class EffectSummary(NamedTuple):
    """The estimate a question's claim rests on, on the benefit scale (positive = better)."""

    measure: str
    estimate: float
    ci_low: float | None
    ci_high: float | None
    benefit: float
    benefit_low: float | None
    benefit_high: float | None
    threshold: float | None
    source: str  # "review-pooled", "meta-analysis" or "single-study"
    records: tuple[str, ...]
    k: int | None
    n: int | None
    scale: str | None
    instrument: str | None
    domain: str | None
    i2: float | None = None
    #: False when the estimate is on a scale the records do not state (e.g. a review abstract's
    #: bare "MD -2.31"), so it cannot be compared with the question's important threshold.
    scale_stated: bool = True
    tau2: float | None = None
    pi_low: float | None = None      # natural scale
    pi_high: float | None = None
    method: str | None = None        # tau² estimator ("REML"), None for one study
    ci_method: str | None = None     # "hksj" (k >= 2) or "wald"
    weights: tuple[float, ...] = ()  # percent, one per record
    yi: tuple[float, ...] = ()       # analysis scale, one per record
    vi: tuple[float, ...] = ()
    #: Median comparator-group risk of the included trials (dichotomous data), for absolute
    #: effects; None when the records give no comparator events.
    control_risk: float | None = None
    #: Benefit-scale threshold the inconsistency and imprecision rules used (0 when none).
    pi_benefit: tuple[float, float] | None = None
    #: +1 when a larger value on the analysis scale is better, -1 when a smaller one is.
    sign: int = 1


def _range_top(scale: str | None) -> float | None:
    """Top of a '0-100' style range in a scale description (None when there is none)."""
    if not scale:
        return None
    m = re.search(r"\b0\s*[-–to]+\s*(\d+(?:\.\d+)?)\b", scale)
    return float(m.group(1)) if m else None


def _threshold_for(question: Question, item: EvidenceItem) -> float | None:
    """The important-effect threshold on the item's scale, or None when scales do not match.

    Ratios are compared on the log scale; without a question threshold GRADE 6's default of a
    25 % relative change (RR 0.75 or 1.25) marks an appreciable benefit or harm.
    """
    ie = question.important_effect
    if item.measure in RATIO_MEASURES:
        if ie is not None and ("ratio" in ie.scale.lower() or item.measure in ie.scale.upper()
                               .replace("(", " ").replace(")", " ").split()) and ie.value != 1:
            return abs(math.log(ie.value))
        return math.log(RATIO_APPRECIABLE)
    if ie is None or item.measure is None or item.measure in PROPORTION_MEASURES:
        return None
    if item.measure == "RD":
        return ie.value if "risk difference" in ie.scale.lower() or "RD" in ie.scale else None
    if item.measure == "SMD":
        if ie.smd is not None:
            return ie.smd
        return ie.value if "SMD" in ie.scale.upper() else None
    if item.measure in RATIO_MEASURES:
        return None
    if "SMD" in ie.scale.upper():
        return None
    if not _scale_stated(item):
        # Review abstracts often print "MD -2.31" with no scale. A threshold of 1 point on a 0-10
        # scale would make it important; on a 0-100 scale it would be trivial. The scale is not
        # assumed: the estimate is not compared with the threshold, and imprecision says so.
        return None
    top_q, top_i = _range_top(ie.scale), _range_top(item.scale)
    if top_q and top_i:  # same instrument family on another range: rescale (0-10 vs 0-100)
        return ie.value * top_i / top_q
    if top_q or top_i:  # one side gives a range, the other does not: not comparable
        return None
    # Neither gives a range: comparable only in the same unit ("degrees", "kPa").
    unit = (item.scale or "").split()[0].lower()
    return ie.value if unit and unit in ie.scale.lower() else None


_UNSTATED = re.compile(r"not stated|not named|not reported|unknown|scale not", re.I)


def _scale_stated(item: EvidenceItem) -> bool:
    """Whether the record states the scale of an absolute (MD-type) estimate."""
    if item.measure in RATIO_MEASURES or item.measure in PROPORTION_MEASURES or \
            item.measure in ("SMD", "RD", "GEN"):
        return True
    return bool(item.scale) and not _UNSTATED.search(item.scale or "")


def choose_main_estimate(question: Question, items: list[EvidenceItem], library: Library,
                         notes: list[str]) -> EffectSummary | None:
    estimates = [i for i in items if i.role == "estimate"]
    if not estimates:
        return None
    reviews = [i for i in estimates if i.contrast == "review-pooled"]
    if reviews:
        # Overlapping reviews share trials, so they are never pooled with each other or with
        # their trials (double counting). The most informative one carries the estimate: most
        # studies pooled for that result, then most participants in it; on a tie (abstracts often
        # give neither) the one the question lists first, which questions.yaml puts first because
        # its comparator matches the question best.
        order = {i.record: n for n, i in enumerate(reviews)}
        if all(i.k for i in reviews):
            best = max(reviews, key=lambda i: (i.k, i.result_n or 0, -order[i.record]))
        else:  # an unreported k is not a small k: fall back to the question's order
            best = reviews[0]
        others = [r.record for r in reviews if r is not best]
        if others:
            notes.append(f"review results not pooled with each other (overlapping trials, double "
                         f"counting); {best.record} carries the estimate, "
                         f"{', '.join(others)} checked for consistency")
        trials = [i.record for i in estimates if i.contrast != "review-pooled"]
        if trials:
            notes.append(f"trial results ({', '.join(trials)}) not pooled with review results "
                         f"(a review's pooled estimate may include them: double counting)")
        return _summary(best, "review-pooled", question)
    # Trial-level estimates: one measure per analysis (and one scale for mean differences), the
    # group with most studies; the others are named as left out.
    groups: dict[tuple, list[EvidenceItem]] = {}
    for i in estimates:
        key = (i.measure, i.domain, i.scale if i.measure == "MD" else None, i.sign)
        groups.setdefault(key, []).append(i)
    best_key, best_group = max(groups.items(), key=lambda kv: (
        len({i.study for i in kv[1]}), sum(i.n or 0 for i in kv[1])))
    for key, group in groups.items():
        if key != best_key:
            notes.append(f"left out of the analysis: {', '.join(i.record for i in group)} "
                         f"({key[0]}{' on ' + key[2] if key[2] else ''}; one measure and scale "
                         f"per analysis, and the pooled one, {best_key[0]}, has more studies)")
    per_study: dict[str, EvidenceItem] = {}
    for i in best_group:  # one result per study: the first listed (the question's chosen one)
        if i.study in per_study:
            notes.append(f"{i.record} left out: {per_study[i.study].record} already represents "
                         f"{i.study} in this analysis (a study is counted once)")
        per_study.setdefault(i.study, i)
    chosen = list(per_study.values())
    if len(chosen) >= 2:
        pooled = _pool(chosen, question, notes)
        if pooled is not None:
            return pooled
    return _summary(max(chosen, key=lambda i: i.n or 0), "single-study", question)


def _summary(item: EvidenceItem, source: str, question: Question) -> EffectSummary:
    # A review's pooled result: k and participants are that analysis's own when printed, and
    # unknown otherwise. The review's total n spans all its comparisons (Liu 2015: 839 patients
    # in 20 trials), so it says nothing about the information behind one pooled result, and an
    # unreported k is not k = 1.
    if source == "review-pooled":
        k, n = item.k, item.result_n
    else:
        k, n = item.k or 1, item.n
    return EffectSummary(measure=item.measure, estimate=item.estimate, ci_low=item.ci_low,
                         ci_high=item.ci_high, benefit=item.benefit, benefit_low=item.benefit_low,
                         benefit_high=item.benefit_high,
                         threshold=_threshold_for(question, item), source=source,
                         records=(item.record,), k=k, n=n, scale=item.scale,
                         instrument=item.instrument, domain=item.domain,
                         scale_stated=_scale_stated(item),
                         method=None if source == "review-pooled" else "single study",
                         ci_method="as reported" if item.printed_ci or item.yi is None
                         or source == "review-pooled" else "wald",
                         weights=(100.0,), yi=() if item.yi is None else (item.yi,),
                         vi=() if item.vi is None else (item.vi,),
                         control_risk=_median_control_risk([item]), sign=item.sign or 1)


def _median_control_risk(items: list[EvidenceItem]) -> float | None:
    """Median comparator-group risk of the trials (GRADE summary-of-findings default)."""
    risks = sorted(i.control_events / i.control_total for i in items
                   if i.control_events is not None and i.control_total)
    if not risks:
        return None
    mid = len(risks) // 2
    return risks[mid] if len(risks) % 2 else (risks[mid - 1] + risks[mid]) / 2


def _pool(chosen: list[EvidenceItem], question: Question, notes: list[str]) -> EffectSummary | None:
    """Pool one measure's results with the engine: REML, HKSJ interval, prediction interval."""
    from ..stats.pooling import pool
    from ..scales import to_natural as natural

    first = chosen[0]
    sign = first.sign or 1
    yi = [i.yi for i in chosen]
    vi = [i.vi for i in chosen]
    res = pool(yi, vi, method="REML", ci="hksj", measure=first.measure,
               labels=[i.record for i in chosen])
    m = first.measure
    est, lo, hi = float(res.estimate), float(res.ci_low), float(res.ci_high)
    pi_lo, pi_hi = float(res.pi_low), float(res.pi_high)
    notes.append(f"{len(chosen)} studies pooled ({m}, REML tau², Hartung-Knapp-Sidik-Jonkman CI, "
                 f"prediction interval): {', '.join(i.record for i in chosen)}")
    if any(i.corrected for i in chosen):
        notes.append("0.5 added to every cell of tables with a zero cell (metafor's default): "
                     + ", ".join(i.record for i in chosen if i.corrected))
    participants = sum(i.n or 0 for i in chosen) or None
    b = sorted((lo * sign, hi * sign))
    pb = sorted((pi_lo * sign, pi_hi * sign)) if math.isfinite(pi_lo) else None
    return EffectSummary(measure=m, estimate=natural(m, est), ci_low=natural(m, lo),
                         ci_high=natural(m, hi), benefit=est * sign, benefit_low=b[0],
                         benefit_high=b[1], threshold=_threshold_for(question, first),
                         source="meta-analysis", records=tuple(i.record for i in chosen),
                         k=len(chosen), n=participants, scale=first.scale,
                         instrument=first.instrument, domain=first.domain,
                         i2=float(res.i2), scale_stated=_scale_stated(first),
                         tau2=float(res.tau2), pi_low=natural(m, pi_lo),
                         pi_high=natural(m, pi_hi), method=res.method, ci_method=res.ci_method,
                         weights=tuple(float(w) for w in res.weight), yi=tuple(yi),
                         vi=tuple(vi), control_risk=_median_control_risk(chosen),
                         pi_benefit=tuple(pb) if pb else None, sign=sign)
