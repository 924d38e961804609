"""From a record's data to an effect size: the one bridge between records and the engine.

A result holds data as the paper gives it (arm means/SD/n, arm events, a single-arm proportion, a
printed estimate with its CI or SE). :func:`study_effect` turns it into ``(yi, vi)`` on the
analysis scale of one measure, using :func:`evidencekit.stats.effects.effect_sizes` for every formula
(never re-implemented here), and :func:`data_direction` says which way the data point. Pooling
then goes through :func:`evidencekit.stats.pooling.pool` (REML; HKSJ when k >= 2).

Notes
-----
Scales: ratio measures (RR, OR, HR, IRR, ROM) are analysed on the log scale and proportions as
logits (PLO) unless the question asks for raw proportions (PR), as metafor ``escalc`` does. A
printed CI gives the standard error by Cochrane Handbook 6.3.1-6.3.2 (``conversions.se_from_ci``).
"""
from __future__ import annotations

import math
from typing import NamedTuple

from ..scales import on_log_scale, to_analysis
from ..vocab import PROPORTION_MEASURES
from ..evidence.records import (
    ArmEventsResult, ArmSummaryResult, EffectEstimate, ProportionResult, Study,
)
from .distributions import critical_value

__all__ = ["StudyEffect", "study_effect",
           "data_direction", "default_measure"]


_ESTIMATE_MEASURES = {"RR": "RR", "OR": "OR", "HR": "HR", "IRR": "IRR", "ROM": "ROM",
                      "MD": "MD", "SMD": "SMD", "RD": "RD", "PR": "PR", "GEN": "GEN"}


class StudyEffect(NamedTuple):
    """One result as an effect size on the analysis scale of ``measure``.

    ``control_events``/``control_total`` are the comparator arm's (dichotomous data), used for the
    assumed comparator risk of absolute effects; ``n`` is the participants behind the result.
    """

    measure: str
    yi: float
    vi: float
    n: int | None
    control_events: int | None = None
    control_total: int | None = None
    corrected: bool = False  # a zero cell got metafor's 0.5 continuity correction


def default_measure(result) -> str | None:
    """The measure a result's data give when the question names none."""
    if isinstance(result, ArmSummaryResult):
        return "MD"
    if isinstance(result, ArmEventsResult):
        return "RR"
    if isinstance(result, ProportionResult):
        return "PLO"
    if isinstance(result, EffectEstimate):
        return _ESTIMATE_MEASURES.get(result.measure)
    return None


def _arms(result, study: Study):
    """(intervention entry, comparator entry) of a two-arm result, or None."""
    roles = {a.id: a.role for a in study.arms}
    inter = [s for s in result.arms if roles.get(s.arm) == "intervention"]
    comp = [s for s in result.arms if roles.get(s.arm) in ("comparator", "control-side")]
    if len(inter) != 1 or len(comp) != 1:
        return None
    return inter[0], comp[0]


def study_effect(result, study: Study, measure: str | None = None) -> StudyEffect | None:
    """The effect size of one result, or None when its data cannot give one in ``measure``.

    Parameters
    ----------
    result
        A record result (arm summary, arm events, proportion or effect estimate).
    study
        Its study (for the arms' roles).
    measure
        The analysis measure; ``None``: :func:`default_measure`. A printed estimate is used only
        in its own measure (an RR is never read as an OR).

    Notes
    -----
    Arm means: MD or SMD (Hedges' g) by ``effects.effect_sizes`` (Handbook 6.5.1). Arm events:
    RR, OR or RD with metafor's 0.5 correction of tables with a zero cell (Handbook 6.4.1).
    Proportions: PLO / PR (metafor escalc). A printed estimate with a CI: SE from the CI on the
    log scale for ratios (Handbook 6.3.2), with SE as given otherwise.
    """
    from .conversions import se_from_ci
    from .effects import MEASURES, TWO_BY_TWO_MEASURES, effect_sizes

    measure = (measure or default_measure(result) or "").upper()
    if not measure:
        return None
    if isinstance(result, ArmSummaryResult):
        pair = _arms(result, study)
        if pair is None or measure not in ("MD", "SMD") or measure not in MEASURES:
            return None
        a, b = pair
        if not (a.sd and b.sd and a.n and b.n):
            return None
        es = effect_sizes(measure, m1i=[a.mean], sd1i=[a.sd], n1i=[a.n], m2i=[b.mean],
                          sd2i=[b.sd], n2i=[b.n])
        return _single(es, measure, a.n + b.n)
    if isinstance(result, ArmEventsResult):
        pair = _arms(result, study)
        if pair is None or measure not in TWO_BY_TWO_MEASURES or measure not in MEASURES:
            return None
        a, b = pair
        es = effect_sizes(measure, ai=[a.events], n1i=[a.total], ci=[b.events], n2i=[b.total])
        corrected = bool(es.corrected[0]) if es.corrected is not None else False
        out = _single(es, measure, a.total + b.total)
        return None if out is None else out._replace(control_events=b.events,
                                                     control_total=b.total, corrected=corrected)
    if isinstance(result, ProportionResult):
        if measure not in PROPORTION_MEASURES or measure not in MEASURES:
            return None
        es = effect_sizes(measure, xi=[result.events], ni=[result.total])
        return _single(es, measure, result.total)
    if isinstance(result, EffectEstimate):
        own = _ESTIMATE_MEASURES.get(result.measure)
        if own is None or (own != measure and not (own == "PR" and measure == "PR")):
            return None
        ratio = on_log_scale(own)
        yi = to_analysis(own, result.estimate) if ratio else result.estimate
        if not math.isfinite(yi):  # a ratio of 0 or less has no log: not usable
            return None
        if result.se is not None and not ratio:
            se = result.se
        elif result.ci_low is not None and result.ci_high is not None:
            se = float(se_from_ci(result.ci_low, result.ci_high, level=100 * result.ci_level,
                                  ratio=ratio))
        else:
            return None
        if not se > 0:
            return None
        return StudyEffect(measure=own, yi=float(yi), vi=float(se) ** 2,
                           n=result.n_participants or study.n)
    return None


def _single(es, measure: str, n: int | None) -> StudyEffect | None:
    yi, vi = float(es.yi[0]), float(es.vi[0])
    if not (math.isfinite(yi) and math.isfinite(vi) and vi > 0):
        return None  # e.g. no events in either arm: no estimable effect (metafor: NA)
    return StudyEffect(measure=measure, yi=yi, vi=vi, n=n)


def data_direction(yi: float, vi: float, better: str | None) -> str | None:
    """Which way the data point, read in the outcome's better direction.

    ``benefit`` or ``harm`` when the 95% CI excludes no effect, ``no-difference`` when it
    includes it; ``None`` when ``better`` is unknown (then no reading is possible).
    """
    if better not in ("lower", "higher"):
        return None
    half = float(critical_value(95.0)) * math.sqrt(vi)
    sign = 1 if better == "higher" else -1
    lo, hi = sorted(((yi - half) * sign, (yi + half) * sign))
    if lo > 0:
        return "benefit"
    if hi < 0:
        return "harm"
    return "no-difference"
