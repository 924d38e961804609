"""The vectorised fit of intercept-only meta-analytic models, one per analysis, and its options.

:func:`fit_rows` is the one engine behind :func:`evidencekit.stats.pooling.pool`,
:func:`evidencekit.stats.batch.pool_many` and leave-one-out: given tau² (from
:mod:`evidencekit.stats.tau2`) it computes the pooled estimate, its Wald or HKSJ interval and
test, heterogeneity (Q, I², H²) and the prediction interval exactly as metafor's ``rma.uni`` and
``predict.rma`` do.
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from .distributions import chi2_sf, critical_value, norm_sf, t_sf
from .tau2 import DEFAULT_CONTROL, METHODS, estimate_tau2, qprofile, rsum

__all__ = ["CI_METHODS", "PI_METHODS", "MissingDataWarning", "fit_rows", "check_options",
           "pi_description"]

#: Intervals for the pooled estimate.
CI_METHODS = ("wald", "hksj")
#: Prediction intervals: "metafor" is predict.rma's default; "t_k2" uses t with k-2 df (Higgins 2009).
PI_METHODS = ("metafor", "t_k2")


def pi_description(pi: str, ci: str) -> str:
    """The prediction interval method in words, prefixed by the ``pi=`` option that selects it."""
    if pi == "t_k2":
        return ("t_k2: t quantile with k-2 df, sqrt(se² + tau²) "
                "(Higgins, Thompson & Spiegelhalter 2009)")
    if ci == "hksj":
        return "metafor: t quantile with k-1 df (as HKSJ), sqrt(se² + tau²) (metafor default)"
    return "metafor: normal quantile, sqrt(se² + tau²) (metafor default)"


class MissingDataWarning(UserWarning):
    """Studies were left out of a fit because an input was missing (as metafor's na.omit does)."""


def fit_rows(Y, V, M, method, ci, pi, level, ctl, tau2_ci):
    """Fit one intercept-only model per row. Returns a dict of (n,) arrays."""
    # the engine works on (K, n) arrays, one analysis per column: per-analysis values then
    # broadcast along long contiguous rows, several times faster than along rows of length K.
    full = bool(M.all())  # no padding: the mask multiplies by 1 and can be skipped (same bits)
    Y, V = np.ascontiguousarray(Y.T), np.ascontiguousarray(V.T)
    if full:
        Mf = np.ones_like(Y)
        k = np.full(Y.shape[1], Y.shape[0])
    else:
        M = np.ascontiguousarray(M.T)
        Mf = M.astype(float)
        k = M.sum(axis=0)
    kf = k.astype(float)
    n = Y.shape[1]
    one = k == 1
    kk = np.where(one, 2.0, kf)
    tau2, conv, fallback = estimate_tau2(method, Y, V, Mf, k, ctl)

    # common-effect pass: Cochran's Q uses the weights 1/v (and gives the tau2 = 0 likelihood)
    w0 = 1.0 / V if full else Mf / V
    s1 = rsum(w0)
    s2 = rsum(w0 * w0)
    mu0 = rsum(w0 * Y) / s1
    r0 = Y - mu0[None, :]
    q = rsum(w0 * r0 * r0)

    # random-effects pass (the same arithmetic as the common-effect one, with v + tau2)
    vt = V + tau2[None, :]
    w = 1.0 / vt if full else Mf / vt
    sw = rsum(w)
    est = rsum(w * Y) / sw
    res = Y - est[None, :]
    rss = rsum(w * res * res)
    if method in ("REML", "ML"):
        # metafor's ll0 check: if the (restricted) likelihood at tau2 = 0 beats the fitted
        # point by more than tol, Fisher scoring got stuck at a local maximum: use tau2 = 0.
        # The likelihoods reuse the sums above (constants cancel in the difference).
        ll0 = -0.5 * rsum(np.log(V)) - 0.5 * q   # padded cells hold v = 1: log 1 = 0
        ll = -0.5 * rsum(np.log(vt) if full else Mf * np.log(vt)) - 0.5 * rss
        if method == "REML":
            ll0 = ll0 - 0.5 * np.log(s1)
            ll = ll - 0.5 * np.log(sw)
        stuck = (ll0 - ll > ctl["tol"]) & (tau2 > ctl["threshold"]) & ~one
        if stuck.any():
            # at tau2 = 0 the random-effects pass is the common-effect pass (v + 0 = v exactly)
            tau2 = np.where(stuck, 0.0, tau2)
            sw = np.where(stuck, s1, sw)
            est = np.where(stuck, mu0, est)
            rss = np.where(stuck, q, rss)
    se_wald = np.sqrt(1.0 / sw)

    with np.errstate(all="ignore"):
        q_p = np.where(one, np.nan, chi2_sf(q, kk - 1))
        if method == "FE":
            # metafor, common-effect model: I2 = 100 max(0, (Q - df)/Q), H2 = Q/df (Higgins 2002)
            i2 = np.where(q > 0, 100 * np.maximum(0.0, (q - (kk - 1)) / q), 0.0)
            h2 = q / (kk - 1)
        else:
            # metafor, random effects: I2 = 100 tau2/(tau2 + s2), H2 = (tau2 + s2)/s2 with the
            # 'typical' within-study variance s2 = (k-1) sum w / ((sum w)^2 - sum w^2)
            # (Higgins & Thompson 2002, eq. 9).
            vtyp = (kk - 1) * s1 / (s1 * s1 - s2)
            i2 = 100 * tau2 / (vtyp + tau2)
            h2 = (vtyp + tau2) / vtyp
    i2 = np.where(one, np.nan, i2)
    h2 = np.where(one, np.nan, h2)

    df = np.full(n, np.nan)
    if ci == "hksj":
        # Knapp & Hartung (2003) / Sidik & Jonkman (2002): se^2 = sum w (y - mu)^2 / ((k-1) sum w),
        # t with k - 1 df; metafor's test="knha" applies no ad-hoc truncation, nor do we.
        with np.errstate(all="ignore"):
            se = np.sqrt(rss / (kk - 1) / sw)
        df = np.where(one, np.nan, kf - 1)
        se = np.where(one, np.nan, se)
        crit = critical_value(level, df)
        with np.errstate(all="ignore"):
            zval = est / se
        pval = 2 * t_sf(np.abs(zval), df)
    else:
        se = se_wald
        crit = np.full(n, critical_value(level))
        zval = est / se
        pval = 2 * norm_sf(np.abs(zval))
    ci_low = est - crit * se
    ci_high = est + crit * se

    # prediction interval (Higgins, Thompson & Spiegelhalter 2009; metafor predict.rma):
    # mu +- crit sqrt(se^2 + tau2); metafor's crit is the normal quantile (t, k-1 df with HKSJ);
    # "t_k2" uses t with k - 2 df as Higgins et al. propose.
    if pi == "t_k2":
        pdf = np.where(kf - 2 >= 1, kf - 2, np.nan)
        pcrit = critical_value(level, pdf)
    else:
        pcrit = crit
    with np.errstate(all="ignore"):
        half = pcrit * np.sqrt(se * se + tau2)
    pi_low = est - half
    pi_high = est + half
    if method != "FE":
        # one study: tau² is not estimable, so neither is the spread of true effects (metafor
        # would take tau² = 0 and return the CI); under FE the PI is the CI by assumption.
        pi_low = np.where(one, np.nan, pi_low)
        pi_high = np.where(one, np.nan, pi_high)

    tau2_out = np.where(one, np.nan, tau2) if method != "FE" else np.zeros(n)
    out = {
        "k": k, "estimate": est, "se": se, "ci_low": ci_low, "ci_high": ci_high, "z": zval,
        "p": pval, "df": df, "tau2": tau2_out, "i2": i2, "h2": h2, "q": q, "q_p": q_p,
        "pi_low": pi_low, "pi_high": pi_high, "converged": conv, "fallback": fallback,
    }
    if tau2_ci:
        if method == "FE":
            lo = hi = np.full(n, np.nan)
        else:
            lo, hi = qprofile(tau2, Y, V, Mf, kk, level, ctl)
            lo = np.where(one, np.nan, lo)
            hi = np.where(one, np.nan, hi)
        out["tau2_ci_low"], out["tau2_ci_high"] = lo, hi
    return out


# ---------------------------------------------------------------------------------------------
# input checks


def check_options(method, ci, pi, level, control):
    """The options of a fit checked (InputError naming the option), with metafor's control
    defaults updated by ``control``; returns (METHOD in upper case, control settings)."""
    if not isinstance(method, str) or method.upper() not in METHODS:
        raise InputError(f"unknown method {method!r}: use one of {', '.join(METHODS)}",
                         field="method")
    if ci not in CI_METHODS:
        raise InputError(f"unknown ci {ci!r}: use 'wald' or 'hksj'", field="ci")
    if pi not in PI_METHODS:
        raise InputError(f"unknown pi {pi!r}: use 'metafor' or 't_k2'", field="pi")
    if not (isinstance(level, (int, float)) and 0 < level < 100):
        raise InputError(f"level must be a percentage between 0 and 100, not {level!r}",
                         field="level")
    ctl = dict(DEFAULT_CONTROL)
    for key, value in (control or {}).items():
        if key not in ctl:
            raise InputError(f"unknown control setting {key!r}: use {', '.join(ctl)}",
                             field="control")
        ctl[key] = value
    return method.upper(), ctl
