"""Small-study effects: Egger's regression test, trim-and-fill, and the data behind a funnel plot.

All three reproduce R metafor: ``regtest(model="lm", predictor="sei")``, ``trimfill()`` with its
defaults (L0 estimator, side chosen from the data) on a common-effect model, and the pseudo
confidence region that ``funnel()`` draws.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import stats

from .errors import InputError

__all__ = ["EggerResult", "TrimFillResult", "egger_test", "trim_and_fill", "funnel_data"]


class EggerResult(NamedTuple):
    """Egger's regression test. ``statistic`` is a t value with ``df`` = k - 2."""

    statistic: float
    p: float
    df: int
    slope: float        # coefficient of the standard error (the asymmetry term)
    slope_se: float
    limit_estimate: float  # intercept: the effect as se -> 0


def _clean(yi, vi):
    try:
        y = np.asarray(yi, dtype=float).ravel()
        v = np.asarray(vi, dtype=float).ravel()
    except (TypeError, ValueError) as exc:
        raise InputError(f"yi and vi must be numbers: {exc}") from None
    if y.shape != v.shape:
        raise InputError(f"yi and vi must have the same length (got {y.size} and {v.size})")
    keep = ~(np.isnan(y) | np.isnan(v))
    y, v = y[keep], v[keep]
    if (~np.isfinite(v) | (v <= 0)).any() or (~np.isfinite(y)).any():
        raise InputError("effect sizes must be finite and sampling variances finite and positive")
    return y, v


def _wls(X, y, w):
    """Weighted least squares: coefficients, their covariance (residual-variance scaled), df."""
    sw = np.sqrt(w)
    Xw, yw = X * sw[:, None], y * sw
    beta, *_ = np.linalg.lstsq(Xw, yw, rcond=None)
    resid = yw - Xw @ beta
    df = X.shape[0] - X.shape[1]
    sigma2 = float(resid @ resid) / df
    cov = sigma2 * np.linalg.inv(Xw.T @ Xw)
    return beta, cov, df


def egger_test(yi, vi) -> EggerResult:
    """Egger's regression test for funnel-plot asymmetry.

    Parameters
    ----------
    yi, vi : array-like
        Effect sizes and sampling variances (missing pairs are dropped).

    Returns
    -------
    EggerResult

    Notes
    -----
    Weighted regression ``yi = b0 + b1 sqrt(vi)`` with weights ``1/vi`` and a residual variance
    estimated from the data (ordinary ``lm``), testing b1 = 0 with t on k - 2 df. This is
    metafor's ``regtest(model="lm", predictor="sei")`` and is algebraically the test of Egger,
    Davey Smith, Schneider & Minder (1997), who regress yi/se_i on 1/se_i (their intercept is our
    b1). Same numbers as ``statsmodels.api.WLS(yi, [1, sei], weights=1/vi)`` (checked in tests).
    Needs k >= 3.
    """
    y, v = _clean(yi, vi)
    k = y.size
    if k < 3:
        raise InputError(f"Egger's test needs at least 3 studies (k = {k})")
    X = np.column_stack([np.ones(k), np.sqrt(v)])
    beta, cov, df = _wls(X, y, 1.0 / v)
    se = math.sqrt(cov[1, 1])
    t = float(beta[1] / se)
    return EggerResult(statistic=t, p=float(2 * stats.t.sf(abs(t), df)), df=int(df),
                       slope=float(beta[1]), slope_se=se, limit_estimate=float(beta[0]))


@dataclass(frozen=True, slots=True)
class TrimFillResult:
    """Trim-and-fill: how many studies were imputed, on which side, and the refitted model."""

    k0: int
    side: str
    estimator: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    filled_yi: np.ndarray
    filled_vi: np.ndarray
    level: float = 95.0

    def summary(self) -> str:
        return (f"Trim-and-fill ({self.estimator} estimator, common-effect model): "
                f"{self.k0} stud{'y' if self.k0 == 1 else 'ies'} imputed on the {self.side}; "
                f"adjusted estimate {self.estimate:.4f} (se {self.se:.4f}), {self.level:g}% CI "
                f"[{self.ci_low:.4f}, {self.ci_high:.4f}]")

    def to_frame(self) -> pd.DataFrame:
        """One row: k0, side, estimator, the adjusted estimate, its se and CI, and the level."""
        return pd.DataFrame([{"k0": self.k0, "side": self.side, "estimator": self.estimator,
                              "estimate": self.estimate, "se": self.se, "ci_low": self.ci_low,
                              "ci_high": self.ci_high, "level": float(self.level)}])


def _common_effect(y, v):
    """Inverse-variance common-effect estimate and se (Cochrane Handbook 10.3.1)."""
    w = 1.0 / v
    sw = w.sum()
    return float((w * y).sum() / sw), float(1.0 / math.sqrt(sw))


def trim_and_fill(yi, vi, *, side: str | None = None, estimator: str = "L0",
                  maxiter: int = 100, level: float = 95.0) -> TrimFillResult:
    """Duval & Tweedie's trim-and-fill, as metafor's ``trimfill()``.

    Parameters
    ----------
    yi, vi : array-like
        Effect sizes and sampling variances.
    side : {"left", "right"}, optional
        Side on which studies are assumed missing. By default, as metafor: "right" when the slope
        of a weighted regression of yi on sqrt(vi) (common-effect meta-regression) is negative,
        else "left".
    estimator : {"L0", "R0"}
        Estimator of the number of missing studies (Duval & Tweedie 2000). L0 is the default.
    maxiter : int
        Iterations of the trim step.
    level : float
        Confidence level (percent) of the adjusted estimate's Wald interval.

    Notes
    -----
    Duval & Tweedie (2000, Biometrics 56:455). On the (flipped if side = "right") data sorted by
    yi: repeat — fit the model to the k - k0 smallest, rank |yi - beta| (ties: first), let Sr be
    the sum of the positive signed ranks, L0 = (4 Sr - k(k+1)) / (2k - 1) or
    R0 = k - (largest negative rank) - 1, k0 = max(0, round(.)) (round half to even, as R) —
    until k0 stops changing. Then mirror the k0 most extreme studies about beta and refit all.
    The model throughout is the common-effect (inverse-variance) one, as ``trimfill()`` on
    ``rma(yi, vi, method="FE")``; trim-and-fill on random-effects fits is not offered, since the
    method's authors and Cochrane favour the common-effect version for the trimming step.
    """
    y, v = _clean(yi, vi)
    k = y.size
    if k < 2:
        raise InputError(f"trim-and-fill needs at least 2 studies (k = {k})")
    if estimator not in ("L0", "R0"):
        raise InputError(f"unknown estimator {estimator!r}: use 'L0' or 'R0'")
    if side is None:
        X = np.column_stack([np.ones(k), np.sqrt(v)])
        w = 1.0 / v
        beta = np.linalg.solve(X.T @ (X * w[:, None]), X.T @ (w * y))
        side = "right" if beta[1] < 0 else "left"
    elif side not in ("left", "right"):
        raise InputError(f"side must be 'left' or 'right', not {side!r}")
    ys = -y if side == "right" else y.copy()
    order = np.argsort(ys, kind="stable")
    ys, vs = ys[order], v[order]

    k0, k0_prev, it = 0, -1, 0
    beta = math.nan
    while k0 != k0_prev:
        k0_prev = k0
        it += 1
        if it > maxiter:
            raise InputError("trim-and-fill did not converge; try estimator='R0'")
        beta, _ = _common_effect(ys[:k - k0], vs[:k - k0])
        yc = ys - beta
        ranks = np.empty(k)
        ranks[np.argsort(np.abs(yc), kind="stable")] = np.arange(1, k + 1)
        signed = np.sign(yc) * ranks
        if estimator == "L0":
            sr = signed[signed > 0].sum()
            est = (4 * sr - k * (k + 1)) / (2 * k - 1)
        else:
            neg = -signed[signed < 0]
            est = (k - neg.max()) - 1 if neg.size else k - 1
        k0 = int(max(0, np.round(est)))

    if k0 > 0:
        yc = ys - beta
        filled = -yc[k - k0:] + beta  # mirror image about beta on the flipped scale
        filled_y = -filled if side == "right" else filled
        filled_v = vs[k - k0:]
    else:
        filled_y = np.empty(0)
        filled_v = np.empty(0)
    est, se = _common_effect(np.concatenate([y, filled_y]), np.concatenate([v, filled_v]))
    z = stats.norm.isf((1 - level / 100) / 2)
    return TrimFillResult(k0=k0, side=side, estimator=estimator, estimate=est, se=se,
                          ci_low=est - z * se, ci_high=est + z * se,
                          filled_yi=_readonly(filled_y), filled_vi=_readonly(filled_v),
                          level=float(level))


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=float)
    a.flags.writeable = False
    return a


def funnel_data(yi, vi, estimate: float | None = None, level: float = 95.0,
                n_points: int = 50) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Points and pseudo confidence region of a funnel plot (as metafor's ``funnel()``).

    Returns
    -------
    studies : DataFrame
        ``yi, se`` per study.
    region : DataFrame
        ``se, low, high``: estimate -/+ z_(1-alpha/2) se over a grid from 0 to max(se).
        ``estimate`` defaults to the common-effect estimate.

    Notes
    -----
    Without small-study effects, 95% of studies fall within estimate ± 1.96 se of the
    common-effect estimate, so the region is a pseudo confidence region, not a test (Sterne &
    Egger 2001, J Clin Epidemiol 54:1046; Sterne et al. 2011, BMJ 343:d4002). The grid runs 5%
    past the largest se so that the least precise study is drawn inside the region's ends.
    """
    y, v = _clean(yi, vi)
    se = np.sqrt(v)
    if estimate is None:
        w = 1.0 / v
        estimate = float((w * y).sum() / w.sum())
    z = stats.norm.isf((1 - level / 100) / 2)
    grid = np.linspace(0.0, float(se.max()) * 1.05, n_points)
    return (pd.DataFrame({"yi": y, "se": se}),
            pd.DataFrame({"se": grid, "low": estimate - z * grid, "high": estimate + z * grid}))
