"""Conversions a reviewer needs to get a standard error or an SD from what a paper reports.

Cochrane Handbook for Systematic Reviews of Interventions v6.4, chapter 6: the SE from a
confidence interval (at its own level) or a p-value, the SD from an SE or a CI. Every SE from a
CI in the package comes from :func:`se_from_ci`.
"""
from __future__ import annotations

import numpy as np
from scipy import stats

from ..errors import InputError
from .distributions import critical_value

__all__ = ["se_from_ci", "se_from_p", "sd_from_se", "sd_from_ci"]


def se_from_ci(lower, upper, level: float = 95.0, *, ratio: bool = False, df=None):
    """Standard error from a confidence interval.

    Notes
    -----
    SE = (upper - lower) / (2 z_(1-α/2)) — Cochrane Handbook 6.3.1 (absolute measures; 3.92 for a
    95% CI is 2 × 1.96, here the exact quantile) and 6.3.2 (ratio measures: take logs of the
    limits first, ``ratio=True``). With ``df`` the t quantile replaces z (Handbook 6.5.2.3, small
    samples).
    """
    lo = np.asarray(lower, float)
    hi = np.asarray(upper, float)
    if ratio:
        if (lo <= 0).any() or (hi <= 0).any():
            raise InputError("ratio confidence limits must be positive (they are logged)")
        lo, hi = np.log(lo), np.log(hi)
    if (hi < lo).any():
        raise InputError("upper confidence limit below the lower one")
    return (hi - lo) / (2 * critical_value(level, df))


def se_from_p(estimate, p, *, df=None):
    """Standard error from an estimate and its two-sided p-value.

    Notes
    -----
    z = Φ⁻¹(1 - p/2), SE = |estimate| / z — Cochrane Handbook 6.3.1 (use the log estimate for
    ratio measures, 6.3.2). With ``df`` the t quantile is used. p must be in (0, 1); p values
    given as "< 0.001" cannot be used this way.
    """
    p = np.asarray(p, float)
    if ((p <= 0) | (p >= 1)).any():
        raise InputError("p-values must lie strictly between 0 and 1")
    crit = stats.norm.isf(p / 2) if df is None else stats.t.isf(p / 2, np.asarray(df, float))
    return np.abs(np.asarray(estimate, float)) / crit


def sd_from_se(se, n):
    """SD of a group from the standard error of its mean: SD = SE sqrt(n) (Handbook 6.5.2.2)."""
    return np.asarray(se, float) * np.sqrt(np.asarray(n, float))


def sd_from_ci(lower, upper, n, level: float = 95.0, *, dist: str = "t"):
    """SD of a group from a confidence interval for its mean.

    Notes
    -----
    SD = sqrt(n) (upper - lower) / (2 q) — Cochrane Handbook 6.5.2.2. The Handbook's 3.92
    (q = 1.96) holds for large samples; for small samples it advises the t quantile with n - 1
    df, which is the default here (``dist="t"``); ``dist="z"`` uses the normal quantile.
    """
    n = np.asarray(n, float)
    if dist not in ("t", "z"):
        raise InputError("dist must be 't' or 'z'")
    se = se_from_ci(lower, upper, level, df=(n - 1) if dist == "t" else None)
    return se * np.sqrt(n)
