"""Small-study effects: Egger's regression test, trim-and-fill, and the data behind a funnel plot.

All reproduce R metafor: Egger's test as ``regtest()``'s default (``model="rma"``: the fitted
model's meta-regression on the standard error, z test) and as ``regtest(model="lm")``;
``trimfill()`` with its defaults (L0 estimator, side chosen from the data) on the fitted model
(common-effect or random-effects); and the pseudo confidence region that ``funnel()`` draws.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import InputError
from .arrays import paired_yi_vi
from .distributions import critical_value

__all__ = ["EggerResult", "TrimFillResult", "egger_test", "trim_and_fill", "funnel_data"]


class EggerResult(NamedTuple):
    """Egger's regression test.

    ``model="lm"``: ``statistic`` is a t value with ``df`` = k - 2. ``model="rma"`` (metafor's
    default): a z value (``df`` is None), or t with k - 2 df when the model uses HKSJ.
    ``model_description`` names the fitted model in words.
    """

    statistic: float
    p: float
    df: int | None
    slope: float        # coefficient of the standard error (the asymmetry term)
    slope_se: float
    limit_estimate: float  # intercept: the effect as se -> 0
    model: str = "lm"
    model_description: str = "weighted regression of yi on sei (lm), t test"


def _clean(yi, vi):
    """yi and vi without missing pairs, every value checked."""
    y, v = paired_yi_vi(yi, vi)
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


def egger_test(yi, vi, *, model: str = "lm", method: str = "REML",
               ci: str = "wald") -> EggerResult:
    """Egger's regression test for funnel-plot asymmetry.

    Parameters
    ----------
    yi, vi : array-like
        Effect sizes and sampling variances (missing pairs are dropped).
    model : {"lm", "rma"}
        "lm": weighted least squares with a residual variance estimated from the data (Egger et
        al. 1997); "rma": the meta-analytic model with the standard error as moderator, metafor's
        default for ``regtest(fit)``.
    method, ci : str
        ``model="rma"`` only: the tau² estimator and test of the fitted model (as ``pool``),
        so the test uses the model the pooled result came from.

    Returns
    -------
    EggerResult

    Notes
    -----
    "lm": weighted regression ``yi = b0 + b1 sqrt(vi)`` with weights ``1/vi`` and a residual
    variance estimated from the data (ordinary ``lm``), testing b1 = 0 with t on k - 2 df. This is
    metafor's ``regtest(model="lm", predictor="sei")`` and is algebraically the test of Egger,
    Davey Smith, Schneider & Minder (1997), who regress yi/se_i on 1/se_i (their intercept is our
    b1). Same numbers as ``statsmodels.api.WLS(yi, [1, sei], weights=1/vi)`` (checked in tests).

    "rma": metafor's ``regtest(rma(yi, vi, method=...))`` default (Sterne & Egger 2005, the
    "meta-regression" variant): :func:`evidencekit.stats.models.meta_regression` of yi on sei with
    the model's tau² estimator, testing the sei coefficient with z (t on k - 2 df under HKSJ).
    The two variants disagree in practice (the lm version's multiplicative residual variance
    against the additive tau²), so the variant is named in the result. Needs k >= 3.
    """
    y, v = _clean(yi, vi)
    k = y.size
    if k < 3:
        raise InputError(f"Egger's test needs at least 3 studies (k = {k})")
    if model == "rma":
        from .models import meta_regression

        fit = meta_regression(y, v, {"sei": np.sqrt(v)}, method=method, ci=ci)
        b0, b1 = fit.coefficients
        test = "t test, Knapp-Hartung" if ci == "hksj" else "z test"
        desc = (f"meta-regression of yi on sei, tau² estimator {fit.method} ({test}); "
                "metafor's regtest() default")
        return EggerResult(statistic=b1.z, p=b1.p, df=int(k - 2) if ci == "hksj" else None,
                           slope=b1.estimate, slope_se=b1.se, limit_estimate=b0.estimate,
                           model="rma", model_description=desc)
    if model != "lm":
        raise InputError(f"unknown Egger model {model!r}: use 'rma' (metafor's default) or 'lm'",
                         field="model")
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
    method: str = "FE"
    tau2: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The ``trim_and_fill: {k0, side, estimate, se}`` of ``pool --bias``, with the model."""
        return {"k0": self.k0, "side": self.side, "estimate": self.estimate, "se": self.se,
                "ci_low": self.ci_low, "ci_high": self.ci_high, "estimator": self.estimator,
                "method": self.method, "tau2": self.tau2}

    def summary(self) -> str:
        model = ("common-effect model" if self.method == "FE"
                 else f"random-effects model, tau² estimator {self.method}")
        return (f"Trim-and-fill ({self.estimator} estimator, {model}): "
                f"{self.k0} stud{'y' if self.k0 == 1 else 'ies'} imputed on the {self.side}; "
                f"adjusted estimate {self.estimate:.4f} (se {self.se:.4f}), {self.level:g}% CI "
                f"[{self.ci_low:.4f}, {self.ci_high:.4f}]")

    def to_frame(self) -> pd.DataFrame:
        """One row: k0, side, estimator, the adjusted estimate, its se and CI, and the level."""
        return pd.DataFrame([{"k0": self.k0, "side": self.side, "estimator": self.estimator,
                              "method": self.method, "estimate": self.estimate, "se": self.se,
                              "ci_low": self.ci_low, "ci_high": self.ci_high, "tau2": self.tau2,
                              "level": float(self.level)}])


def _common_effect(y, v):
    """Inverse-variance common-effect estimate and se (Cochrane Handbook 10.3.1)."""
    w = 1.0 / v
    sw = w.sum()
    return float((w * y).sum() / sw), float(1.0 / math.sqrt(sw))


def trim_and_fill(yi, vi, *, side: str | None = None, estimator: str = "L0",
                  maxiter: int = 100, level: float = 95.0, method: str = "FE") -> TrimFillResult:
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
    method : str
        The model trimmed and refitted: "FE" (common effect, the default here) or a tau²
        estimator of :func:`evidencekit.stats.pooling.pool` ("REML", "DL", ...), as ``trimfill()`` on
        ``rma(yi, vi, method=...)``: the side, every trimming fit and the final fit use it.

    Notes
    -----
    Duval & Tweedie (2000, Biometrics 56:455). On the (flipped if side = "right") data sorted by
    yi: repeat — fit the model to the k - k0 smallest, rank |yi - beta| (ties: first), let Sr be
    the sum of the positive signed ranks, L0 = (4 Sr - k(k+1)) / (2k - 1) or
    R0 = k - (largest negative rank) - 1, k0 = max(0, round(.)) (round half to even, as R) —
    until k0 stops changing. Then mirror the k0 most extreme studies about beta and refit all.
    The model throughout is the one named by ``method``, as metafor's ``trimfill()`` uses the
    fitted model's: with ``method="FE"`` the common-effect (inverse-variance) one, as on
    ``rma(yi, vi, method="FE")``; with a tau² estimator the random-effects model (side from the
    meta-regression on sqrt(vi) with that estimator; each trimming fit and the filled fit with
    it). The two often disagree on k0, so the model is named in the result.
    """
    y, v = _clean(yi, vi)
    k = y.size
    if k < 2:
        raise InputError(f"trim-and-fill needs at least 2 studies (k = {k})")
    if estimator not in ("L0", "R0"):
        raise InputError(f"unknown estimator {estimator!r}: use 'L0' or 'R0'")
    method = str(method).upper()
    from .pooling import pool
    from .tau2 import METHODS

    if method not in METHODS:
        raise InputError(f"unknown method {method!r}: use one of {', '.join(METHODS)}",
                         field="method")

    def fit(yy, vv):
        r = pool(yy, vv, method=method, level=level, tau2_ci=False)
        return r.estimate, r.se, (0.0 if not math.isfinite(r.tau2) else r.tau2)

    if side is None:
        if method == "FE" or k < 3:
            X = np.column_stack([np.ones(k), np.sqrt(v)])
            w = 1.0 / v
            beta = np.linalg.solve(X.T @ (X * w[:, None]), X.T @ (w * y))
            slope = beta[1]
        else:
            from .models import meta_regression

            slope = meta_regression(y, v, {"sei": np.sqrt(v)}, method=_regression_method(
                method)).coefficients[1].estimate
        side = "right" if slope < 0 else "left"
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
        beta = fit(ys[:k - k0], vs[:k - k0])[0]
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
    est, se, tau2 = fit(np.concatenate([y, filled_y]), np.concatenate([v, filled_v]))
    z = critical_value(level)
    return TrimFillResult(k0=k0, side=side, estimator=estimator, estimate=est, se=se,
                          ci_low=est - z * se, ci_high=est + z * se,
                          filled_yi=_readonly(filled_y), filled_vi=_readonly(filled_v),
                          level=float(level), method=method, tau2=float(tau2))


def _regression_method(method: str) -> str:
    """The meta-regression estimator for a pooling estimator (the same where both exist)."""
    from .models import REGRESSION_METHODS

    if method not in REGRESSION_METHODS:
        raise InputError(f"trim-and-fill with method {method!r} needs a meta-regression with "
                         f"that estimator; use one of {', '.join(REGRESSION_METHODS)} or give "
                         "side=", field="method")
    return method


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
    z = critical_value(level)
    grid = np.linspace(0.0, float(se.max()) * 1.05, n_points)
    return (pd.DataFrame({"yi": y, "se": se}),
            pd.DataFrame({"se": grid, "low": estimate - z * grid, "high": estimate + z * grid}))
