"""The analysis scale and the natural scale of each measure, defined once.

Effects are pooled on an analysis scale (the log of a ratio, the logit of a proportion) and
shown on the natural one. Every stage that moves a number between the two, or asks where "no
effect" lies, calls this module, so the rating, the claims and the figures cannot disagree about
which scale a threshold or an interval is on.
"""
from __future__ import annotations

import math

from .vocab import RATIO_MEASURES

__all__ = ["on_log_scale", "null_value", "to_analysis", "to_natural"]


def on_log_scale(measure: str) -> bool:
    """Whether ``measure`` is a ratio, analysed as its logarithm (metafor's escalc convention)."""
    return measure.upper() in RATIO_MEASURES


def null_value(measure: str, *, natural: bool = True) -> float:
    """The value of "no effect": 1 for a ratio on the natural scale, else 0."""
    return 1.0 if natural and on_log_scale(measure) else 0.0


def to_analysis(measure: str, value: float | None) -> float | None:
    """A value on the natural scale, on the analysis scale (log for ratios, logit for PLO).

    Notes
    -----
    The inverse of :func:`to_natural`; metafor's escalc transforms (Viechtbauer 2010, Table 1).
    Values outside a transform's domain (a ratio of 0, a proportion of 1 for PLO) give ``nan``.
    """
    if value is None or not math.isfinite(value):
        return value
    m = measure.upper()
    try:
        if m in RATIO_MEASURES or m in ("PLN", "MNLN", "IRLN"):
            return math.log(value)
        if m == "PLO":
            return math.log(value / (1 - value))
        if m == "PAS":
            return math.asin(math.sqrt(value))
    except (ValueError, ZeroDivisionError):
        return math.nan
    return value


def to_natural(measure: str, value: float | None) -> float | None:
    """A value on the analysis scale, back on the natural scale (exp for ratios, expit for PLO).

    Notes
    -----
    metafor ``transf.exp.int`` / ``transf.ilogit`` / ``transf.iarcsin`` (as ``predict(...,
    transf=)``). PFT is returned as is: its back-transform needs the harmonic mean of the sample
    sizes (Miller 1978), which a single value does not carry.
    """
    if value is None or not math.isfinite(value):
        return value
    m = measure.upper()
    if m in RATIO_MEASURES or m in ("PLN", "MNLN", "IRLN"):
        return math.exp(value)
    if m == "PLO":
        return 1 / (1 + math.exp(-value))
    if m == "PAS":
        return math.sin(min(max(value, 0.0), math.pi / 2)) ** 2
    return value
