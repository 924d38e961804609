"""Common-effect and random-effects meta-analysis that reproduces R metafor's ``rma.uni``.

One vectorised engine (:func:`_fit_rows`) fits many intercept-only models at once, one per row of a
2-D array; :func:`pool` runs it on a single row and :func:`pool_many` on thousands. Because both go
through the same arithmetic, ``pool_many`` equals ``pool`` row by row (to rounding).

Agreement with metafor is by construction, not by luck: the iterative estimators use metafor's own
algorithms and stopping rules (Fisher scoring from the Hedges start with threshold 1e-5 for REML, ML
and EB; Brent's ``zeroin`` as in R's ``uniroot`` with tolerance ``eps**0.25`` for PM and the Q-profile
interval), so a fit stops where metafor's stops. Where metafor gives up, we do not (see
:func:`pool`, Notes).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Mapping, NamedTuple, Sequence

import numpy as np
import pandas as pd
from scipy import special

from ..vocab import RATIO_MEASURES
from ..errors import InputError

__all__ = [
    "METHODS",
    "CI_METHODS",
    "PI_METHODS",
    "MissingDataWarning",
    "PoolResult",
    "StudyWeight",
    "pool",
    "pool_many",
    "leave_one_out",
    "SCALAR_KEYS",
    "EXTRA_KEYS",
    "TAU2_CI_KEYS",
]

#: Estimators of tau², named as in metafor. "FE" is the common-effect (inverse-variance) model.
METHODS = ("FE", "DL", "REML", "PM", "ML", "HS", "SJ", "HE", "EB")
#: Intervals for the pooled estimate.
CI_METHODS = ("wald", "hksj")
#: Prediction intervals: "metafor" is predict.rma's default; "t_k2" uses t with k-2 df (Higgins 2009).
PI_METHODS = ("metafor", "t_k2")

#: The scalar keys of the JSON contract (DESIGN.md), in contract order.
SCALAR_KEYS = ("k", "measure", "method", "estimate", "se", "ci_low", "ci_high", "z", "p", "tau2",
               "i2", "h2", "q", "q_p", "pi_low", "pi_high")
#: Keys added after the contract's so that every default behind a number is named in the output
#: (DESIGN.md: "every default is named in output"): the confidence level, the CI method ("wald" or
#: "hksj") and its t degrees of freedom (NaN / null when the normal quantile is used), the
#: prediction-interval method in words and its t df. Columns of :func:`pool_many` and
#: ``PoolResult.to_frame()`` too.
EXTRA_KEYS = ("level", "ci_method", "df", "pi_method", "pi_df")
#: The Q-profile interval for tau² and the name of its method (None where not computed: FE, or
#: ``tau2_ci=False``).
TAU2_CI_KEYS = ("tau2_ci_low", "tau2_ci_high", "tau2_ci_method")

# metafor's rma.uni control defaults (rma.uni.r, "set default control parameters"): we stop where it
# stops, so iterative estimates agree with metafor to ~1e-12 rather than to metafor's tolerance.
_DEFAULT_CONTROL = {
    "threshold": 1e-5,                      # Fisher scoring: stop when |change in tau2| <= this
    "maxiter": 100,                         # Fisher scoring / uniroot iterations for the estimate
    "tol": float(np.finfo(float).eps) ** 0.25,  # uniroot tolerance (PM, Q-profile, ll0 check)
    "tau2_max": 100.0,                      # starting upper bracket for PM, adapted as metafor does
    "ci_maxiter": 1000,                     # confint.rma.uni's uniroot maxiter
}

_METHOD_NAMES = {
    "FE": "common effect (inverse variance)",
    "DL": "DerSimonian-Laird",
    "REML": "restricted maximum likelihood",
    "PM": "Paule-Mandel",
    "ML": "maximum likelihood",
    "HS": "Hunter-Schmidt",
    "SJ": "Sidik-Jonkman",
    "HE": "Hedges (variance components)",
    "EB": "empirical Bayes",
}


def _pi_description(pi: str, ci: str) -> str:
    """The prediction interval method in words, prefixed by the ``pi=`` option that selects it."""
    if pi == "t_k2":
        return ("t_k2: t quantile with k-2 df, sqrt(se² + tau²) "
                "(Higgins, Thompson & Spiegelhalter 2009)")
    if ci == "hksj":
        return "metafor: t quantile with k-1 df (as HKSJ), sqrt(se² + tau²) (metafor default)"
    return "metafor: normal quantile, sqrt(se² + tau²) (metafor default)"


# ---------------------------------------------------------------------------------------------
# distribution functions: scipy.special's, which scipy.stats calls underneath, without its
# argument checking (~40 us per call, a quarter of a single pool() call). Same numbers bit for
# bit (tests/test_pooling.py checks them against scipy.stats), including scipy.stats's edge cases
# that the engine can reach.


def _norm_isf(q):
    return -special.ndtri(q)


def _norm_sf(x):
    return special.ndtr(-np.asarray(x, float))


def _chi2_sf(x, df):
    x = np.asarray(x, float)
    return np.where(x < 0, np.where(np.isnan(df), np.nan, 1.0), special.chdtrc(df, x))


def _chi2_isf(q, df):
    return special.chdtri(df, q)


def _chi2_ppf(q, df):
    return 2 * special.gammaincinv(np.asarray(df, float) / 2, q)


def _t_sf(x, df):
    return special.stdtr(df, -np.asarray(x, float))


def _t_isf(q, df):
    q = np.asarray(q, float)
    return np.where(q == 0, np.where(np.isnan(df), np.nan, np.inf), -special.stdtrit(df, q))



class MissingDataWarning(UserWarning):
    """Studies were left out of a fit because an input was missing (as metafor's na.omit does)."""


# ---------------------------------------------------------------------------------------------
# vectorised building blocks. Arrays are (n, K): one analysis per row; M marks real studies. Padded
# cells hold y = 0, v = 1 and get weight 0 through the mask, so every sum below ignores them.


_ONES: dict[int, np.ndarray] = {}


def _rsum(x):
    """Per-analysis sums over studies (axis 0 of the engine's (K, n) layout), as one BLAS
    vector-matrix product; every caller (pool and pool_many) goes through here, so both sum in
    the same order. The ones vector is cached per K (read-only): making it was ~5% of a fit."""
    ones = _ONES.get(x.shape[0])
    if ones is None:
        ones = np.ones(x.shape[0])
        ones.flags.writeable = False
        _ONES[x.shape[0]] = ones
    return ones @ x


def _q_stat(t, Y, V, Mf):
    """Generalised Q: sum w (y - mu_w)^2 with w = 1/(v + t), per row (t broadcast per row)."""
    w = Mf / (V + t[None, :])
    sw = _rsum(w)
    mu = _rsum(w * Y) / sw
    r = Y - mu[None, :]
    return _rsum(w * r * r)


def _zeroin(f, lo, hi, flo, fhi, tol, maxiter):
    """R's ``uniroot`` (Brent's zeroin, R_zeroin2 in stats/src/zeroin.c), vectorised over rows.

    Each row runs exactly the iteration R runs, so a root found with R's tolerance lands where
    metafor's does. ``f`` maps an (n,) array of abscissae to an (n,) array of values; rows that
    have converged are frozen. Returns (root, converged).
    """
    if np.size(lo) == 1:
        # one analysis (pool()): the same iteration on Python floats, ~50x less overhead than
        # the masked array version; IEEE double arithmetic either way, so the same root.
        root, conv = _zeroin_scalar(lambda x: float(f(np.array([x]))[0]), float(np.ravel(lo)[0]),
                                    float(np.ravel(hi)[0]), float(np.ravel(flo)[0]),
                                    float(np.ravel(fhi)[0]), float(tol), int(maxiter))
        return np.array([root]), np.array([conv])
    a = np.asarray(lo, float).copy()
    b = np.asarray(hi, float).copy()
    fa = np.asarray(flo, float).copy()
    fb = np.asarray(fhi, float).copy()
    c, fc = a.copy(), fa.copy()
    eps = np.finfo(float).eps
    root = np.where(fa == 0.0, a, b)
    done = (fa == 0.0) | (fb == 0.0)
    conv = done.copy()
    for _ in range(int(maxiter) + 1):
        act = ~done
        if not act.any():
            break
        with np.errstate(all="ignore"):
            prev_step = b - a
            swap = act & (np.abs(fc) < np.abs(fb))
            a = np.where(swap, b, a)
            b = np.where(swap, c, b)
            c = np.where(swap, a, c)
            fa = np.where(swap, fb, fa)
            fb = np.where(swap, fc, fb)
            fc = np.where(swap, fa, fc)
            tol_act = 2 * eps * np.abs(b) + tol / 2
            new_step = (c - b) / 2
            finished = act & ((np.abs(new_step) <= tol_act) | (fb == 0.0))
            root = np.where(finished, b, root)
            conv |= finished
            done |= finished
            act = ~done
            if not act.any():
                break
            interp = act & (np.abs(prev_step) >= tol_act) & (np.abs(fa) > np.abs(fb))
            cb = c - b
            linear = a == c
            t1_lin = fb / fa
            p_lin, q_lin = cb * t1_lin, 1.0 - t1_lin
            qq, t1, t2 = fa / fc, fb / fc, fb / fa
            p_quad = t2 * (cb * qq * (qq - t1) - (b - a) * (t1 - 1.0))
            q_quad = (qq - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            p = np.where(linear, p_lin, p_quad)
            q = np.where(linear, q_lin, q_quad)
            pos = p > 0
            q = np.where(pos, -q, q)
            p = np.where(pos, p, -p)
            accept = interp & (p < (0.75 * cb * q - np.abs(tol_act * q) / 2)) & (
                p < np.abs(prev_step * q / 2))
            new_step = np.where(accept, p / q, new_step)
            small = np.abs(new_step) < tol_act
            new_step = np.where(small, np.where(new_step > 0, tol_act, -tol_act), new_step)
            a = np.where(act, b, a)
            fa = np.where(act, fb, fa)
            b = np.where(act, b + new_step, b)
        fnew = f(b)
        fb = np.where(act, fnew, fb)
        same_sign = act & (((fb > 0) & (fc > 0)) | ((fb < 0) & (fc < 0)))
        c = np.where(same_sign, a, c)
        fc = np.where(same_sign, fa, fc)
    root = np.where(done, root, b)  # R returns the last b when maxiter is exhausted
    return root, conv


def _zeroin_scalar(f, a, b, fa, fb, tol, maxiter):
    """:func:`_zeroin` for one row, step for step (R's R_zeroin2). Returns (root, converged)."""
    eps = float(np.finfo(float).eps)
    if fa == 0.0:
        return a, True
    if fb == 0.0:
        return b, True
    c, fc = a, fa
    for _ in range(maxiter + 1):
        prev_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2 * eps * abs(b) + tol / 2
        new_step = (c - b) / 2
        if abs(new_step) <= tol_act or fb == 0.0:
            return b, True
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:
                qq, t1, t2 = fa / fc, fb / fc, fb / fa
                p = t2 * (cb * qq * (qq - t1) - (b - a) * (t1 - 1.0))
                q = (qq - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tol_act * q) / 2) and p < abs(prev_step * q / 2):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0 else -tol_act
        a, fa = b, fb
        b = b + new_step
        fb = f(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    return b, False  # R returns the last b when maxiter is exhausted


def _bracket_up(f_of_t, start, need_negative):
    """Double an upper bracket until ``f_of_t`` is <= 0 in the rows that need it (never fails:
    Q(t) falls like 1/t, the ML/REML scores like -1/t, so a finite bound always exists)."""
    hi = start.copy()
    rows = need_negative.copy()
    for _ in range(2000):
        if not rows.any():
            break
        vals = f_of_t(hi)
        rows &= vals > 0
        hi = np.where(rows, hi * 2.0, hi)
    return hi


def _median_cols(X):
    """np.median(X, axis=0) for complete columns, by sorting (np.median's partition and checks
    cost more than the sort for the few studies of a meta-analysis); the same value: the middle
    element, or the two middle ones summed and halved, as np.median's mean of them."""
    s = np.sort(X, axis=0)
    m = s.shape[0]
    half = m // 2
    return s[half] if m % 2 else (s[half - 1] + s[half]) / 2


def _mad(Y, M):
    """R's mad(): 1.4826 * median(|y - median(y)|), per row over the real studies."""
    if M.all():  # no padding: nanmedian's value without its NaN handling
        med = _median_cols(Y)
        return 1.4826 * _median_cols(np.abs(Y - med[None, :]))
    Yn = np.where(M, Y, np.nan)
    med = np.nanmedian(Yn, axis=0)
    return 1.4826 * np.nanmedian(np.abs(Yn - med[None, :]), axis=0)


def _scores(method, t, Y, V, Mf):
    """Fisher-scoring quantities of metafor's rma.uni for an intercept-only model.

    With P = W - w w'/sum(w): Y'PY = sum w r^2, Y'PPY = sum w^2 r^2, tr P = S1 - S2/S1,
    tr PP = S2 - 2 S3/S1 + S2^2/S1^2, where Sj = sum w^j and r = y - mu_w (Viechtbauer 2005).
    Returns (score numerator, information denominator) so that adj = num / den.
    """
    w = Mf / (V + t[None, :])
    s1 = _rsum(w)
    mu = _rsum(w * Y) / s1
    r = Y - mu[None, :]
    wr = w * r
    if method == "EB":
        k = _rsum(Mf)
        ypy = _rsum(wr * r)
        return ypy * k / (k - 1) - k, s1
    w2 = w * w
    s2 = _rsum(w2)
    yppy = _rsum(wr * wr)
    if method == "ML":
        return yppy - s1, s2
    s3 = _rsum(w2 * w)
    trp = s1 - s2 / s1
    trpp = s2 - 2 * s3 / s1 + (s2 / s1) ** 2
    return yppy - trp, trpp


def _loglik(method, t, Y, V, Mf):
    """(Restricted) log-likelihood of the normal-normal model, as metafor's ll0 check computes it."""
    k = _rsum(Mf)
    vt = np.where(Mf > 0, V + t[None, :], 1.0)
    w = Mf / vt
    s1 = _rsum(w)
    mu = _rsum(w * Y) / s1
    r = Y - mu[None, :]
    rss = _rsum(w * r * r)
    logdet = _rsum(np.log(vt))
    if method == "ML":
        return -0.5 * k * np.log(2 * np.pi) - 0.5 * logdet - 0.5 * rss
    return -0.5 * (k - 1) * np.log(2 * np.pi) - 0.5 * logdet - 0.5 * np.log(s1) - 0.5 * rss


def _scores_into(method, t, Y, Vi, k, bw, b2, b3):
    """:func:`_scores` for the Fisher-scoring loop, in three preallocated (K, m) buffers.

    The same operations in the same order as :func:`_scores` (so the same numbers, bit for bit),
    without temporaries and without the mask: absent cells hold v = +inf, so w = 1/(inf + t) = 0
    and every product with w is an exact 0 that leaves the sums unchanged. About 3x faster than
    :func:`_scores` on 10,000 x 20 (allocation and the mask were two thirds of its time).
    """
    w = np.add(Vi, t, out=bw)
    np.divide(1.0, w, out=w)
    s1 = _rsum(w)
    np.multiply(w, Y, out=b2)
    mu = _rsum(b2) / s1
    r = np.subtract(Y, mu, out=b2)
    if method == "EB":
        np.multiply(w, r, out=b3)
        b3 *= r
        ypy = _rsum(b3)
        return ypy * k / (k - 1) - k, s1
    r *= w  # b2 is now w r
    np.multiply(w, w, out=b3)
    s2 = _rsum(b3)
    r *= r
    yppy = _rsum(r)
    if method == "ML":
        return yppy - s1, s2
    b3 *= w
    s3 = _rsum(b3)
    trp = s1 - s2 / s1
    trpp = s2 - 2 * s3 / s1 + (s2 / s1) ** 2
    return yppy - trp, trpp


def _halve_until_nonnegative(t, adj):
    """metafor's step halving, ``while (tau2 + adj < 0) adj <- adj/2``, for rows with t + adj < 0.

    Halving is exact in binary floating point, so j halvings equal one ``ldexp(adj, -j)`` as long
    as the result stays a normal number. We jump ahead by j0 = ceil(log2(-adj/t)) - 1 halvings
    (each of which the loop would also take, since t + adj/2^i < 0 for every i below the answer;
    after j0 halvings t + adj is still about -t, far from rounding) and let the literal loop take
    the last one or two: the same result as metafor's loop, without up to ~1000 passes.
    """
    with np.errstate(all="ignore"):
        j0 = np.ceil(np.log2(-adj / t)) - 1
    j0 = np.where(np.isfinite(j0), np.clip(j0, 0, 1000), 0).astype(int)
    jumped = np.ldexp(adj, -j0)
    ok = np.abs(jumped) >= np.finfo(float).tiny  # no subnormal rounding: exactly j0 halvings
    adj = np.where(ok, jumped, adj)
    for _ in range(1100):
        bad = t + adj < 0
        if not bad.any():
            break
        adj = np.where(bad, adj / 2, adj)
    return adj


def _fisher_scoring(method, t0, Y, V, Mf, ctl):
    """metafor's Fisher scoring (rma.uni.r) for ML, REML and EB, on every row at once.

    Returns (tau2, converged, iterations, nonfinite). Rows stop individually when |change| <=
    threshold; a row that exceeds maxiter is reported as not converged (the caller then falls
    back); a row whose step is not finite stops at once with tau2 NaN and ``nonfinite`` True.

    Speed without changing a digit: the per-step sums run in preallocated buffers
    (:func:`_scores_into`, bit-identical to :func:`_scores`); step halving touches only the rows
    that need it; finished rows are dropped from the working copies (an active set) once they
    are >= 10% of them, since a copy costs about a fifth of a step.
    """
    if t0.shape[0] == 1:
        return _fisher_scoring_one(method, t0, Y, V, Mf, ctl)
    n = t0.shape[0]
    K = Y.shape[0]
    t = t0.copy()
    conv = np.zeros(n, bool)
    nonfinite = np.zeros(n, bool)
    iters = np.zeros(n, int)
    threshold, maxiter = ctl["threshold"], ctl["maxiter"]
    # absent (padding) cells: v = +inf gives them weight exactly 0 without a mask
    Vi = V if Mf.all() else np.where(Mf > 0, V, np.inf)
    ka = _rsum(Mf) if method == "EB" else None
    # Work memory is allocated once and reused as contiguous (K, m) views while the active set
    # shrinks: fresh arrays at every step or compaction cost more in page faults than the
    # arithmetic. Y and V are compacted alternately into two pairs of buffers.
    flat = np.empty((3, K * n))
    ping = np.empty((2, 2, K * n))

    def view(buf, m):
        return buf[:K * m].reshape(K, m)

    idx = np.arange(n)
    Ya, Va, ta = Y, Vi, t0.copy()
    bufs = [view(b, n) for b in flat]
    live = np.isfinite(t0)  # an infinite start (variance of yi overflows) cannot be refined
    nonfinite |= ~live
    t[~live] = np.nan
    it = 0
    side = 0
    with np.errstate(all="ignore"):  # once: entering errstate costs as much as a small step
        while True:
            it += 1
            num, den = _scores_into(method, ta, Ya, Va, ka, *bufs)
            adj = num / den
            # step halving keeps tau2 >= 0, as metafor's `while (tau2 + adj < tau2.min)
            # adj <- adj/2`; from tau2 == 0 metafor halves a negative step all the way to (-)0,
            # i.e. no step at all. A NaN step (0/0) is no step either.
            adj[np.isnan(adj) | ((ta == 0.0) & (adj < 0))] = 0.0
            # A step that is not finite (data at the edge of floating point: sums of 1e300)
            # would never end metafor's halving loop (-inf / 2 is -inf): such rows stop here,
            # with tau2 NaN, and the caller reports them.
            blown = live & ~np.isfinite(adj)
            if blown.any():
                adj[blown] = 0.0
                nonfinite[idx[blown]] = True
                t[idx[blown]] = np.nan
                live &= ~blown
            neg = np.flatnonzero(ta + adj < 0)
            if 0 < neg.size <= 32:  # a few rows (the usual case): plain floats, no numpy overhead
                for i in neg.tolist():
                    ti, ai = float(ta[i]), float(adj[i])
                    while ti + ai < 0:  # ends: ai is finite, so halving reaches 0 or -ti
                        ai /= 2
                    adj[i] = ai
            elif neg.size:
                adj[neg] = _halve_until_nonnegative(ta[neg], adj[neg])
            tn = ta + adj
            finished = live & (np.abs(tn - ta) <= threshold)
            t[idx[live]] = tn[live]
            iters[idx[live]] = it
            if it > maxiter:  # metafor: "Fisher scoring algorithm did not converge"
                break
            conv[idx[finished]] = True
            live &= ~finished
            n_live = np.count_nonzero(live)
            if n_live == 0:
                break
            ta = np.where(live, tn, ta)
            if live.size - n_live >= 0.1 * live.size:
                idx, ta = idx[live], ta[live]
                Ya = np.compress(live, Ya, axis=1, out=view(ping[side, 0], n_live))
                Va = np.compress(live, Va, axis=1, out=view(ping[side, 1], n_live))
                side = 1 - side
                if ka is not None:
                    ka = ka[live]
                bufs = [view(b, n_live) for b in flat]
                live = np.ones(n_live, bool)
    return t, conv, iters, nonfinite


def _fisher_scoring_one(method, t0, Y, V, Mf, ctl):
    """:func:`_fisher_scoring` for a single analysis (pool()): the same sums through
    :func:`_scores_into` on (K, 1) arrays, so the same numbers, with the per-step bookkeeping on
    Python floats instead of masked arrays (the bookkeeping was most of a single fit's time)."""
    K = Y.shape[0]
    threshold, maxiter = ctl["threshold"], ctl["maxiter"]
    t = float(t0[0])
    if not math.isfinite(t):
        return np.array([np.nan]), np.array([False]), np.array([0]), np.array([True])
    Vi = V if Mf.all() else np.where(Mf > 0, V, np.inf)
    ka = _rsum(Mf) if method == "EB" else None
    bufs = [np.empty((K, 1)) for _ in range(3)]
    ta = np.array([t])
    conv = False
    it = 0
    with np.errstate(all="ignore"):
        while True:
            it += 1
            num, den = _scores_into(method, ta, Y, Vi, ka, *bufs)
            adj = float(num[0] / den[0])
            if math.isnan(adj) or (t == 0.0 and adj < 0):
                adj = 0.0
            if not math.isfinite(adj):  # see _fisher_scoring: stop, report as not finite
                return np.array([np.nan]), np.array([False]), np.array([it]), np.array([True])
            while t + adj < 0:  # ends: adj is finite
                adj /= 2
            tn = t + adj
            finished = abs(tn - t) <= threshold
            t = tn
            if it > maxiter:
                break
            if finished:
                conv = True
                break
            ta[0] = t
    return np.array([t]), np.array([conv]), np.array([it]), np.array([False])


def _score_root_fallback(method, Y, V, Mf, rows, ctl):
    """Bracketed root finding on the profile (ML/REML) score for rows where Fisher scoring failed.

    The score d l / d tau2 is positive below the maximum and negative above it. Per row: if the
    score at 0 is <= 0 the candidate is tau2 = 0; otherwise we bracket [0, hi] by doubling hi
    until the score is negative (it falls like -1/tau2, so this ends) and solve with Brent's
    method (the vectorised zeroin above, tolerance 2 eps |tau2|, i.e. machine precision). The
    root is kept only if its (restricted) likelihood is at least that at tau2 = 0. For EB the
    estimating equation is Q(tau2) = k - 1 (Morris 1983), whose root is unique. Returns
    {row index: tau2}.
    """
    idx = np.nonzero(rows)[0]
    Yr, Vr, Mr = Y[:, idx], V[:, idx], Mf[:, idx]
    n = idx.size
    k = _rsum(Mr)

    def score(t):
        if method == "EB":
            return _q_stat(t, Yr, Vr, Mr) - (k - 1)
        return _scores(method, t, Yr, Vr, Mr)[0]

    zeros = np.zeros(n)
    s0 = score(zeros)
    need = s0 > 0
    hi = _bracket_up(score, np.ones(n), need)
    root, _ = _zeroin(score, zeros, hi, s0, score(hi), 0.0, 2000)
    t = np.where(need, root, 0.0)
    if method != "EB":
        better0 = _loglik(method, zeros, Yr, Vr, Mr) > _loglik(method, t, Yr, Vr, Mr)
        t = np.where(better0, 0.0, t)
    return dict(zip(idx.tolist(), t.tolist()))


def _tau2(method, Y, V, Mf, k, ctl):
    """tau² per row with metafor's estimator ``method``; returns (tau2, converged, fallback)."""
    n = Y.shape[1]
    conv = np.ones(n, bool)
    fallback = np.zeros(n, bool)
    one = k == 1
    kk = np.where(one, 2, k).astype(float)  # keeps k - 1 > 0 in formulas; k = 1 rows set below
    if method == "FE":
        return np.zeros(n), conv, fallback
    zeros = np.zeros(n)
    with np.errstate(all="ignore"):
        if method in ("DL", "HS"):
            w = Mf / V
            s1 = _rsum(w)
            s2 = _rsum(w * w)
            q = _q_stat(zeros, Y, V, Mf)
            if method == "DL":  # DerSimonian & Laird (1986); metafor: (RSS - (k-p)) / tr P
                t = (q - (kk - 1)) / (s1 - s2 / s1)
            else:  # Hunter & Schmidt (2004); metafor: (RSS - k) / sum w
                t = (q - kk) / s1
        elif method in ("HE", "REML", "ML", "EB"):
            # Hedges (1983) estimator, also metafor's starting value for ML/REML/EB:
            # (sum (y - ybar)^2 - (k-1)/k sum v) / (k - 1)
            ybar = _rsum(Mf * Y) / k
            rss = _rsum(Mf * (Y - ybar[None, :]) ** 2)
            trpv = _rsum(Mf * V) * (kk - 1) / kk
            t = (rss - trpv) / (kk - 1)
        elif method == "SJ":
            # Sidik & Jonkman (2005): tau0 = var(y) (k-1)/k, tau2 = tau0 * Q(tau0) / (k - 1)
            ybar = _rsum(Mf * Y) / k
            t0 = _rsum(Mf * (Y - ybar[None, :]) ** 2) / kk
            t = t0 * _q_stat(t0, Y, V, Mf) / (kk - 1)
        elif method == "PM":
            t = zeros  # filled below
        else:  # pragma: no cover - guarded by the public functions
            raise InputError(f"unknown method {method!r}")
    t = np.maximum(np.nan_to_num(t, nan=0.0), 0.0)

    if method in ("REML", "ML", "EB"):
        with np.errstate(all="ignore"):  # k = 1 rows (k - 1 = 0) are set to 0 below
            t, conv, _, nonfinite = _fisher_scoring(method, t, Y, V, Mf, ctl)
        bad = ~conv & ~one & ~nonfinite
        if bad.any():
            for i, val in _score_root_fallback(method, Y, V, Mf, bad, ctl).items():
                t[i] = val
            fallback = bad.copy()
            conv = conv | bad
        t = np.where(nonfinite, np.nan, t)
    elif method == "PM":
        t, conv = _paule_mandel(Y, V, Mf, kk, ctl)
    t = np.where(one, 0.0, np.where(np.isnan(t), np.nan, np.maximum(t, 0.0)))
    return t, conv, fallback


def _paule_mandel(Y, V, Mf, kk, ctl):
    """Paule & Mandel (1982): the tau2 solving Q(tau2) = k - 1, found as metafor finds it.

    metafor: tau2 = 0 if Q(0) < k - 1; else uniroot on [0, tau2.max] with tau2.max =
    max(100, 10 mad(y)^2) and tol = eps^0.25. Where metafor stops with "tau2.max too low", we
    double tau2.max until the root is bracketed (Q(t) -> 0 as t grows), so PM never fails.
    """
    n = Y.shape[1]
    target = kk - 1
    M = Mf > 0
    q0 = _q_stat(np.zeros(n), Y, V, Mf) - target
    need = q0 >= 0
    tmax = np.maximum(ctl["tau2_max"], 10 * _mad(Y, M) ** 2)
    tmax = np.where(np.isfinite(tmax), tmax, ctl["tau2_max"])

    def f(t):
        return _q_stat(t, Y, V, Mf) - target

    tmax = _bracket_up(f, tmax, need)
    fmax = f(tmax)
    root, conv = _zeroin(f, np.zeros(n), tmax, q0, fmax, ctl["tol"], ctl["maxiter"])
    t = np.where(need, root, 0.0)
    if (need & ~conv).any():
        # uniroot ran out of iterations (not seen with maxiter = 100, but never fail): go on
        # from the same bracket with more iterations.
        more, _ = _zeroin(f, np.zeros(n), tmax, q0, fmax, ctl["tol"], 100 * ctl["maxiter"])
        t = np.where(need & ~conv, more, t)
    return t, np.ones(n, bool)


def _qprofile(tau2, Y, V, Mf, kk, level, ctl):
    """Q-profile confidence interval for tau² (Viechtbauer 2007), as metafor's confint() does.

    Bounds solve Q(tau2) = chi²_{k-1, 1-α/2} (lower) and chi²_{k-1, α/2} (upper) by uniroot on
    [0, max(100, 10 tau2)] with tol eps^0.25. A bound below 0 is reported as 0. Where metafor
    would report ">tau2.max" we double the bracket and solve.
    """
    n = Y.shape[1]
    alpha = 1 - level / 100
    df = kk - 1
    crit_u = _chi2_isf(alpha / 2, df)
    crit_l = _chi2_ppf(alpha / 2, df)
    tmax = np.maximum(100.0, 10 * tau2)
    q0 = _q_stat(np.zeros(n), Y, V, Mf)
    lo = np.zeros(n)
    hi = np.zeros(n)
    for crit, out, cond in ((crit_l, hi, q0 >= crit_l), (crit_u, lo, q0 >= crit_u)):
        def f(t, crit=crit):
            return _q_stat(t, Y, V, Mf) - crit
        if not cond.any():
            continue
        tm = _bracket_up(f, tmax.copy(), cond)
        root, _ = _zeroin(f, np.zeros(n), tm, q0 - crit, f(tm), ctl["tol"], ctl["ci_maxiter"])
        out[:] = np.where(cond, root, 0.0)
    return lo, hi


def _fit_rows(Y, V, M, method, ci, pi, level, ctl, tau2_ci):
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
    tau2, conv, fallback = _tau2(method, Y, V, Mf, k, ctl)

    # common-effect pass: Cochran's Q uses the weights 1/v (and gives the tau2 = 0 likelihood)
    w0 = 1.0 / V if full else Mf / V
    s1 = _rsum(w0)
    s2 = _rsum(w0 * w0)
    mu0 = _rsum(w0 * Y) / s1
    r0 = Y - mu0[None, :]
    q = _rsum(w0 * r0 * r0)

    # random-effects pass (the same arithmetic as the common-effect one, with v + tau2)
    vt = V + tau2[None, :]
    w = 1.0 / vt if full else Mf / vt
    sw = _rsum(w)
    est = _rsum(w * Y) / sw
    res = Y - est[None, :]
    rss = _rsum(w * res * res)
    if method in ("REML", "ML"):
        # metafor's ll0 check: if the (restricted) likelihood at tau2 = 0 beats the fitted
        # point by more than tol, Fisher scoring got stuck at a local maximum: use tau2 = 0.
        # The likelihoods reuse the sums above (constants cancel in the difference).
        ll0 = -0.5 * _rsum(np.log(V)) - 0.5 * q   # padded cells hold v = 1: log 1 = 0
        ll = -0.5 * _rsum(np.log(vt) if full else Mf * np.log(vt)) - 0.5 * rss
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
        q_p = np.where(one, np.nan, _chi2_sf(q, kk - 1))
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
        crit = _t_isf((1 - level / 100) / 2, df)
        with np.errstate(all="ignore"):
            zval = est / se
        pval = 2 * _t_sf(np.abs(zval), df)
    else:
        se = se_wald
        crit = np.full(n, _norm_isf((1 - level / 100) / 2))
        zval = est / se
        pval = 2 * _norm_sf(np.abs(zval))
    ci_low = est - crit * se
    ci_high = est + crit * se

    # prediction interval (Higgins, Thompson & Spiegelhalter 2009; metafor predict.rma):
    # mu +- crit sqrt(se^2 + tau2); metafor's crit is the normal quantile (t, k-1 df with HKSJ);
    # "t_k2" uses t with k - 2 df as Higgins et al. propose.
    if pi == "t_k2":
        pdf = np.where(kf - 2 >= 1, kf - 2, np.nan)
        pcrit = _t_isf((1 - level / 100) / 2, pdf)
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
            lo, hi = _qprofile(tau2, Y, V, Mf, kk, level, ctl)
            lo = np.where(one, np.nan, lo)
            hi = np.where(one, np.nan, hi)
        out["tau2_ci_low"], out["tau2_ci_high"] = lo, hi
    return out


# ---------------------------------------------------------------------------------------------
# input checks


def _check_options(method, ci, pi, level, control):
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
    ctl = dict(_DEFAULT_CONTROL)
    for key, value in (control or {}).items():
        if key not in ctl:
            raise InputError(f"unknown control setting {key!r}: use {', '.join(ctl)}",
                             field="control")
        ctl[key] = value
    return method.upper(), ctl


def _as_float(name, values):
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be numbers: {exc}", field=name) from None
    return arr


def _check_values(yi, vi, where=""):
    bad_v = ~np.isfinite(vi) | (vi <= 0)
    if bad_v.any():
        idx = np.nonzero(bad_v)[0]
        raise InputError(
            f"sampling variances must be finite and positive{where}; "
            f"bad vi at position(s) {', '.join(map(str, idx.tolist()))} "
            f"(values {', '.join(repr(float(x)) for x in vi[idx][:5])})", field="vi")
    bad_y = ~np.isfinite(yi)
    if bad_y.any():
        idx = np.nonzero(bad_y)[0]
        raise InputError(f"effect sizes must be finite{where}; bad yi at position(s) "
                         f"{', '.join(map(str, idx.tolist()))}", field="yi")


# ---------------------------------------------------------------------------------------------
# public results


class StudyWeight(NamedTuple):
    """One study in a fit: the ``studies: [{yi, vi, weight}]`` entries of the JSON contract."""

    yi: float
    vi: float
    weight: float  # percent of the total weight, as metafor's weights()


@dataclass(frozen=True, slots=True)
class PoolResult:
    """A fitted meta-analysis (one intercept-only model), frozen.

    Attributes carry the JSON contract's keys (DESIGN.md): ``k, measure, method, estimate, se,
    ci_low, ci_high, z, p, tau2, i2`` (percent), ``h2, q, q_p, pi_low, pi_high``, and per study
    ``yi, vi, weight`` (percent of the total weight, as metafor's ``weights()``).
    Beyond the contract (DESIGN.md allows more keys) every default behind a number is named:
    ``level``, ``ci_method`` ("wald" or "hksj"), ``df`` (t degrees of freedom, NaN for Wald),
    ``pi_method`` (the ``pi=`` option; :attr:`pi_description` in words), :attr:`pi_df`,
    ``tau2_ci_low``, ``tau2_ci_high`` and ``tau2_ci_method`` ("Q-profile").

    Under HKSJ, ``z`` and ``p`` hold the t statistic est/se_HKSJ and its two-sided p-value from t
    with ``df`` = k-1 degrees of freedom, exactly as metafor's ``zval`` and ``pval`` do under
    ``test="knha"`` (the key keeps metafor's name). ``notes`` says what could not be estimated and
    why; ``dropped`` lists the input positions left out as missing.
    """

    k: int
    measure: str
    method: str
    ci_method: str
    pi_method: str
    level: float
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    z: float
    p: float
    df: float
    tau2: float
    i2: float
    h2: float
    q: float
    q_p: float
    pi_low: float
    pi_high: float
    tau2_ci_low: float
    tau2_ci_high: float
    yi: np.ndarray
    vi: np.ndarray
    weight: np.ndarray
    labels: tuple[str, ...]
    dropped: tuple[int, ...] = ()
    converged: bool = True
    fallback: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)
    tau2_ci_method: str | None = None

    @property
    def studies(self) -> tuple[StudyWeight, ...]:
        """Per study ``(yi, vi, weight)``: the contract's ``studies`` key as an attribute."""
        return tuple(StudyWeight(float(y), float(v), float(w))
                     for y, v, w in zip(self.yi, self.vi, self.weight))

    @property
    def tau(self) -> float:
        """Between-study standard deviation, sqrt(tau²)."""
        return math.sqrt(self.tau2) if math.isfinite(self.tau2) else math.nan

    @property
    def pi_description(self) -> str:
        """The prediction interval's method in words, e.g. "metafor: normal quantile, ..."."""
        return _pi_description(self.pi_method, self.ci_method)

    @property
    def pi_df(self) -> float:
        """Degrees of freedom of the prediction interval's t quantile (NaN: normal quantile)."""
        if self.pi_method == "t_k2":
            return float(self.k - 2) if self.k >= 3 else math.nan
        return self.df

    def _extras(self) -> dict[str, Any]:
        return {"level": float(self.level), "ci_method": self.ci_method, "df": float(self.df),
                "pi_method": self.pi_description, "pi_df": float(self.pi_df)}

    def to_dict(self) -> dict[str, Any]:
        """The ``evidencekit pool --format json`` payload.

        The contract's scalar keys (:data:`SCALAR_KEYS`, in DESIGN.md order), then
        :data:`EXTRA_KEYS` (``level``, ``ci_method``, ``df``, ``pi_method`` in words, ``pi_df``),
        :data:`TAU2_CI_KEYS`, ``converged``, ``fallback``, ``notes`` (list of str) and last
        ``studies: [{yi, vi, weight}]``. Values that cannot be estimated are NaN (the CLI writes
        null). Under HKSJ ``z``/``p`` are metafor's t statistic and its p (see the class doc).
        """
        d: dict[str, Any] = {}
        for key in SCALAR_KEYS:
            value = getattr(self, key)
            d[key] = value if isinstance(value, str) else (int(value) if key == "k"
                                                            else float(value))
        d.update(self._extras())
        d["tau2_ci_low"] = float(self.tau2_ci_low)
        d["tau2_ci_high"] = float(self.tau2_ci_high)
        d["tau2_ci_method"] = self.tau2_ci_method
        d["converged"] = bool(self.converged)
        d["fallback"] = bool(self.fallback)
        d["notes"] = list(self.notes)
        d["studies"] = [study._asdict() for study in self.studies]
        return d

    def to_frame(self) -> pd.DataFrame:
        """One row: the contract's scalar keys, then :data:`EXTRA_KEYS` and the tau² interval
        (``tau2_ci_low``, ``tau2_ci_high``); the columns of :func:`pool_many` with
        ``tau2_ci=True``."""
        row = {key: getattr(self, key) for key in SCALAR_KEYS}
        row.update(self._extras())
        row["tau2_ci_low"], row["tau2_ci_high"] = self.tau2_ci_low, self.tau2_ci_high
        return pd.DataFrame([row])

    def studies_frame(self) -> pd.DataFrame:
        """Per-study table: yi, vi, se, 95% (or ``level``) Wald CI, weight (%)."""
        crit = _norm_isf((1 - self.level / 100) / 2)
        se = np.sqrt(self.vi)
        return pd.DataFrame({"yi": self.yi, "vi": self.vi, "se": se,
                             "ci_low": self.yi - crit * se, "ci_high": self.yi + crit * se,
                             "weight": self.weight}, index=pd.Index(self.labels, name="study"))

    def summary(self) -> str:
        """A text report that names every default used (estimator, CI, PI, tau² interval)."""
        lv = f"{self.level:g}%"
        fmt = _fmt
        model = ("common-effect model" if self.method == "FE"
                 else f"random-effects model, tau² estimator {self.method} "
                      f"({_METHOD_NAMES[self.method]})")
        if self.ci_method == "hksj":
            ci_txt = f"Hartung-Knapp-Sidik-Jonkman, t with {fmt(self.df, 0)} df"
            stat = f"t = {fmt(self.z)}, df = {fmt(self.df, 0)}"
        else:
            ci_txt = "Wald (normal quantile)"
            stat = f"z = {fmt(self.z)}"
        if self.pi_method == "t_k2":
            pi_txt = "t with k-2 df, se² + tau² (Higgins 2009)"
        elif self.ci_method == "hksj":
            pi_txt = "metafor default with HKSJ: t with k-1 df, se² + tau²"
        else:
            pi_txt = "metafor default: normal quantile, se² + tau²"
        lines = [
            f"Meta-analysis of {self.k} stud{'y' if self.k == 1 else 'ies'} "
            f"(measure {self.measure}): {model}",
            f"  confidence interval: {ci_txt}; prediction interval: {pi_txt}",
            f"  estimate {fmt(self.estimate)} (se {fmt(self.se)}), {lv} CI "
            f"[{fmt(self.ci_low)}, {fmt(self.ci_high)}], {stat}, p {_fmt_p(self.p)}",
        ]
        if self.measure.upper() in RATIO_MEASURES:
            lines.append(f"  back-transformed ({self.measure}): {fmt(math.exp(self.estimate))} "
                         f"[{fmt(math.exp(self.ci_low))}, {fmt(math.exp(self.ci_high))}]")
        lines.append(f"  {lv} prediction interval [{fmt(self.pi_low)}, {fmt(self.pi_high)}]")
        het = (f"  heterogeneity: Q = {fmt(self.q)} (df = {self.k - 1}), p {_fmt_p(self.q_p)}, "
               f"I² = {fmt(self.i2, 1)}{'%' if math.isfinite(self.i2) else ''}, "
               f"H² = {fmt(self.h2)}")
        lines.append(het)
        if self.method != "FE":
            lines.append(f"  tau² = {fmt(self.tau2)} (tau = {fmt(self.tau)}), {lv} Q-profile CI "
                         f"[{fmt(self.tau2_ci_low)}, {fmt(self.tau2_ci_high)}]")
        for note in self.notes:
            lines.append(f"  note: {note}")
        return "\n".join(lines)




def _fmt(x: float, digits: int = 4) -> str:
    if x is None or not math.isfinite(x):
        return "NA"
    return f"{x:.{digits}f}"


def _fmt_p(p: float) -> str:
    if not math.isfinite(p):
        return "= NA"
    return "< 0.0001" if p < 1e-4 else f"= {p:.4f}"


def _unpack_effects(yi, vi, measure):
    """Accept an effects result (anything with yi, vi, measure attributes) in place of yi."""
    if vi is None and hasattr(yi, "yi") and hasattr(yi, "vi"):
        measure = measure or getattr(yi, "measure", None)
        labels = getattr(yi, "labels", None)
        return yi.yi, yi.vi, measure, labels
    if vi is None:
        raise InputError("pool needs vi (sampling variances) alongside yi", field="vi")
    return yi, vi, measure, None


def _fit_notes(k: int, method: str, ci: str, pi: str, *, fallback: bool,
               maxiter: int) -> tuple[str, ...]:
    """What a fit could not estimate, or rests on, in words: :attr:`PoolResult.notes`."""
    notes: list[str] = []
    if k == 1:
        if method == "FE":
            notes.append("k = 1: I², H² and the test of heterogeneity cannot be estimated from one "
                         "study; the estimate is the study's own")
        else:
            notes.append("k = 1: tau² and its Q-profile interval, I², H², the test of "
                         "heterogeneity and the prediction interval cannot be estimated from one "
                         "study; the estimate is the study's own")
        if ci == "hksj":
            notes.append("k = 1: HKSJ needs k >= 2 (no degrees of freedom): no se, CI, t or p")
    if pi == "t_k2" and k <= 2:
        notes.append(f"k = {k}: the t-based prediction interval needs k >= 3 (k - 2 df)")
    if k == 2 and method != "FE":
        notes.append("k = 2: tau² rests on two studies and is very imprecise (see its Q-profile "
                     "interval)")
    if method == "FE":
        notes.append("common-effect model: tau² is 0 by assumption and the prediction interval "
                     "equals the confidence interval (metafor's predict() gives no prediction "
                     "interval for a common-effect model)")
    if fallback:
        notes.append("Fisher scoring (metafor's algorithm) did not converge in "
                     f"{maxiter} iterations; tau² found by bracketed root finding "
                     "on the likelihood score instead")
    return tuple(notes)


def pool(yi, vi=None, method: str = "REML", ci: str = "wald", *, pi: str = "metafor",
         level: float = 95.0, measure: str | None = None,
         labels: Sequence[str] | None = None, control: Mapping[str, float] | None = None,
         tau2_ci: bool = True) -> PoolResult:
    """Pool effect sizes with a common-effect or random-effects model, as metafor's ``rma.uni``.

    Parameters
    ----------
    yi, vi : array-like
        Effect sizes and their sampling variances, one per study. ``yi`` may instead be the
        result of :func:`evidencekit.stats.effects.effect_sizes` (then ``vi`` is omitted).
    method : {"REML", "DL", "PM", "ML", "HS", "SJ", "HE", "EB", "FE"}
        tau² estimator; "FE" fits the common-effect (inverse-variance) model. REML is the default,
        as in current Cochrane practice (RevMan since 2025).
    ci : {"wald", "hksj"}
        Interval and test for the pooled estimate: Wald (normal) or Hartung-Knapp-Sidik-Jonkman.
    pi : {"metafor", "t_k2"}
        Prediction interval: metafor's default (normal quantile; t with k-1 df under HKSJ), or the
        t distribution with k-2 df (Higgins, Thompson & Spiegelhalter 2009).
    level : float
        Confidence level in percent.
    measure : str, optional
        Label of the effect measure (e.g. "SMD"); ratio measures are on the log scale.
    labels : sequence of str, optional
        Study labels, used in warnings and tables.
    control : mapping, optional
        metafor-style control: ``threshold`` (1e-5), ``maxiter`` (100), ``tol`` (eps**0.25),
        ``tau2_max`` (100), ``ci_maxiter`` (1000). Lower ``threshold``/``tol`` to solve more
        tightly than metafor does.
    tau2_ci : bool
        Compute the Q-profile interval for tau².

    Returns
    -------
    PoolResult

    Raises
    ------
    evidencekit.errors.InputError
        No studies left, mismatched lengths, non-finite or non-positive variances, non-finite
        effects, unknown method/ci/pi.

    Notes
    -----
    Inverse-variance pooling with weights w_i = 1/(v_i + tau²); se = (sum w_i)^-1/2
    (Cochrane Handbook 10.3). tau² estimators (Viechtbauer 2005; Veroniki et al. 2016):
    DL (DerSimonian & Laird 1986) (Q - (k-1)) / (S1 - S2/S1); HE (Hedges 1983); HS (Hunter &
    Schmidt 2004) (Q - k)/S1; SJ (Sidik & Jonkman 2005); PM (Paule & Mandel 1982) solving
    Q(tau²) = k-1; ML and REML (Viechtbauer 2005) by Fisher scoring; EB (Morris 1983) by its
    scoring iteration. All are truncated at 0, so tau² is never negative.

    Convergence. REML/ML/EB run metafor's Fisher scoring (start: Hedges estimate, step halving to
    stay >= 0, stop when the change is <= 1e-5, at most 100 steps), so values match metafor to
    ~1e-12. metafor stops with an error when the iteration has not settled after 100 steps (about
    0.7% of random k = 20 data sets). We instead fall back to bracketed root finding on the
    likelihood score: bracket [0, hi] (hi doubled until the score is negative), Brent's method to
    machine precision, keep tau² = 0 if its likelihood is higher. PM uses R's ``uniroot``
    (zeroin) exactly as metafor; where metafor reports that ``tau2.max`` is too low we widen the
    bracket instead. A fit therefore never fails on valid input. ``fallback`` records when the
    fallback was used.

    Heterogeneity as metafor: Q with weights 1/v_i; I² = 100 tau²/(tau² + s²) and
    H² = (tau² + s²)/s² with s² = (k-1) S1/(S1² - S2) (Higgins & Thompson 2002); for the
    common-effect model I² = 100 max(0, (Q - df)/Q), H² = Q/df. HKSJ: Knapp & Hartung (2003),
    IntHout et al. (2014). Prediction interval: Higgins, Thompson & Spiegelhalter (2009).
    Q-profile interval for tau²: Viechtbauer (2007).

    k = 1: the estimate is the study's own; tau², I², H², Q's p, HKSJ and the prediction
    interval cannot be estimated (NaN, with a note). k = 2: everything is estimated, but the
    t-based (k-2 df) prediction interval is not (NaN, note).
    """
    yi, vi, measure, es_labels = _unpack_effects(yi, vi, measure)
    method, ctl = _check_options(method, ci, pi, level, control)
    y = _as_float("yi", yi).ravel() if np.ndim(yi) <= 1 else None
    v = _as_float("vi", vi).ravel() if np.ndim(vi) <= 1 else None
    if y is None or v is None:
        raise InputError("pool takes one-dimensional yi and vi; use pool_many for many analyses")
    if y.shape != v.shape:
        raise InputError(f"yi and vi must have the same length (got {y.size} and {v.size})",
                         field="vi")
    if labels is None:
        labels = es_labels
    if labels is not None:
        labels = [str(s) for s in labels]
        if len(labels) != y.size:
            raise InputError(f"labels must have one entry per study ({len(labels)} != {y.size})",
                             field="labels")
    else:
        labels = [str(i + 1) for i in range(y.size)]
    missing = np.isnan(y) | np.isnan(v)
    dropped = tuple(int(i) for i in np.nonzero(missing)[0])
    if dropped:
        names = ", ".join(labels[i] for i in dropped)
        warnings.warn(f"{len(dropped)} stud{'y' if len(dropped) == 1 else 'ies'} with missing "
                      f"yi or vi left out of the fit: {names}", MissingDataWarning, stacklevel=2)
        keep = ~missing
        y, v = y[keep], v[keep]
        labels = [s for s, m in zip(labels, keep) if m]
    if y.size == 0:
        raise InputError("no studies to pool (k = 0)" + (
            " after dropping missing rows; every study lacks yi or vi (or the values they are "
            "computed from): fill them in" if dropped else "; give at least one study"))
    _check_values(y, v)
    with np.errstate(all="ignore"):  # overflow is reported below, once, in words
        res = _fit_rows(y[None, :], v[None, :], np.ones((1, y.size), bool), method, ci, pi,
                        level, ctl, tau2_ci)
    r = {key: val[0] for key, val in res.items()}
    k = int(r["k"])
    _check_finite_fit(r, k, method, ci, y, v)
    tau2_w = 0.0 if (method == "FE" or k == 1) else float(r["tau2"])
    w = 1.0 / (v + tau2_w)
    weight = 100 * w / w.sum()
    notes = _fit_notes(k, method, ci, pi, fallback=bool(r["fallback"]),
                       maxiter=int(ctl["maxiter"]))
    return PoolResult(
        k=k, measure=(measure or "GEN"), method=method, ci_method=ci, pi_method=pi,
        level=float(level), estimate=float(r["estimate"]), se=float(r["se"]),
        ci_low=float(r["ci_low"]), ci_high=float(r["ci_high"]), z=float(r["z"]),
        p=float(r["p"]), df=float(r["df"]), tau2=float(r["tau2"]), i2=float(r["i2"]),
        h2=float(r["h2"]), q=float(r["q"]), q_p=float(r["q_p"]), pi_low=float(r["pi_low"]),
        pi_high=float(r["pi_high"]),
        tau2_ci_low=float(r["tau2_ci_low"]) if tau2_ci else math.nan,
        tau2_ci_high=float(r["tau2_ci_high"]) if tau2_ci else math.nan,
        yi=_frozen(y), vi=_frozen(v), weight=_frozen(weight), labels=tuple(labels),
        dropped=dropped, converged=bool(r["converged"]), fallback=bool(r["fallback"]),
        notes=notes, tau2_ci_method=("Q-profile" if tau2_ci and method != "FE" else None))


def _check_finite_fit(r: Mapping[str, Any], k: int, method: str, ci: str, y, v) -> None:
    """Raise InputError when a fit is not finite (never a silent "estimate NA", exit 0).

    Effect sizes near 1e150 or variances near 1e-150 make the sums of w y² overflow floating
    point (w y² ~ 1e450); the numbers are then not meaningful, and rescaling is the fix.
    """
    # what may legitimately be NaN: tau² from one study, and the HKSJ se from one study (no df)
    needed = (["estimate", "q"] + (["se"] if (ci != "hksj" or k > 1) else [])
              + (["tau2"] if method != "FE" and k > 1 else []))
    bad = [key for key in needed if not math.isfinite(float(r[key]))]
    if bad:
        raise InputError(
            f"the meta-analysis cannot be computed in floating point: {', '.join(bad)} "
            f"overflow(s) (effect sizes up to {float(np.max(np.abs(y))):.3g}, sampling "
            f"variances from {float(np.min(v)):.3g} to {float(np.max(v)):.3g}); rescale the "
            "data (e.g. other units) so that yi² / vi stays well below 1e300", field="yi")


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=float)
    a.flags.writeable = False
    return a


def _to_padded(x, name):
    """2-D float array from a 2-D array or a list of 1-D arrays (ragged rows padded with NaN)."""
    if isinstance(x, np.ndarray) and x.ndim == 2:
        return _as_float(name, x)
    if isinstance(x, pd.DataFrame):
        return _as_float(name, x.to_numpy())
    rows = [(_as_float(name, r).ravel()) for r in x]
    width = max((r.size for r in rows), default=0)
    out = np.full((len(rows), width), np.nan)
    for i, r in enumerate(rows):
        out[i, :r.size] = r
    return out


def pool_many(yi, vi, method: str = "REML", ci: str = "wald", *, pi: str = "metafor",
              level: float = 95.0, measure: str = "GEN",
              control: Mapping[str, float] | None = None, tau2_ci: bool = False) -> pd.DataFrame:
    """Fit many meta-analyses at once, vectorised; one row per analysis.

    Parameters
    ----------
    yi, vi : 2-D array-like or list of 1-D arrays
        One analysis per row. Ragged input: a list of arrays of different lengths, or a 2-D array
        padded with NaN (cells where yi or vi is NaN are not studies).
    method, ci, pi, level, control
        As for :func:`pool`.
    measure : str
        Label written to the ``measure`` column.
    tau2_ci : bool
        Add ``tau2_ci_low`` and ``tau2_ci_high`` (Q-profile) columns.

    Returns
    -------
    pandas.DataFrame
        Columns ``k, measure, method, estimate, se, ci_low, ci_high, z, p, tau2, i2, h2, q, q_p,
        pi_low, pi_high`` (as :func:`pool`'s scalar keys), then ``level, ci_method, df, pi_method,
        pi_df`` (:data:`EXTRA_KEYS`: the defaults behind the numbers; ``df``/``pi_df`` are NaN
        where a normal quantile is used), then ``tau2_ci_low, tau2_ci_high`` if ``tau2_ci``.
        Under ``ci="hksj"`` ``z`` and ``p`` are the t statistic and its p (metafor's
        ``test="knha"``).

    Notes
    -----
    Same engine and formulas as :func:`pool` (see there for sources), applied to all rows with
    numpy: each Fisher-scoring or zeroin step updates every unfinished row at once, and rows stop
    individually by metafor's rule, so each row equals ``pool`` on that row to rounding (tested
    to 1e-8). Rows where Fisher scoring does not converge fall back one by one to bracketed root
    finding (rare: see docs/performance.md). NaN cells are treated as absent without a warning,
    since padding is how ragged input is given.
    """
    method, ctl = _check_options(method, ci, pi, level, control)
    Y = _to_padded(yi, "yi")
    V = _to_padded(vi, "vi")
    if Y.shape != V.shape:
        raise InputError(f"yi and vi must have the same shape (got {Y.shape} and {V.shape})",
                         field="vi")
    if Y.ndim != 2 or Y.shape[0] == 0:
        raise InputError("pool_many needs at least one analysis (a 2-D array, one row each)")
    with np.errstate(all="ignore"):
        # common case first: every cell finite and every variance positive (three reductions
        # instead of a dozen elementwise passes; a NaN or inf anywhere makes a sum non-finite)
        dense = (Y.size > 0 and math.isfinite(Y.sum()) and math.isfinite(V.sum())
                 and V.min() > 0)
    if dense:
        M = np.ones(Y.shape, bool)
        res = _fit_rows(Y, V, M, method, ci, pi, level, ctl, tau2_ci)
        return _many_frame(res, measure, method, ci, pi, level, tau2_ci)
    M = ~(np.isnan(Y) | np.isnan(V))
    k = M.sum(axis=1)
    if (k == 0).any():
        rows = np.nonzero(k == 0)[0]
        raise InputError(f"analysis row(s) {', '.join(map(str, rows[:10].tolist()))} have no "
                         "studies (k = 0)")
    Yc = np.where(M, Y, 0.0)
    Vc = np.where(M, V, 1.0)
    bad = (M & (~np.isfinite(V) | (V <= 0))) | (M & ~np.isfinite(Y))
    if bad.any():
        rows = np.unique(np.nonzero(bad)[0])
        raise InputError("effect sizes must be finite and variances finite and positive; "
                         f"bad values in analysis row(s) {', '.join(map(str, rows[:10].tolist()))}",
                         field="vi")
    res = _fit_rows(Yc, Vc, M, method, ci, pi, level, ctl, tau2_ci)
    return _many_frame(res, measure, method, ci, pi, level, tau2_ci)


def _many_frame(res, measure, method, ci, pi, level, tau2_ci) -> pd.DataFrame:
    """pool_many's DataFrame from the engine's arrays."""
    cols: dict[str, Any] = {"k": res["k"].astype(int), "measure": measure, "method": method}
    for key in SCALAR_KEYS[3:]:
        cols[key] = res[key]
    cols["level"] = float(level)
    cols["ci_method"] = ci
    cols["df"] = res["df"]
    cols["pi_method"] = _pi_description(pi, ci)
    if pi == "t_k2":
        cols["pi_df"] = np.where(res["k"] >= 3, res["k"] - 2.0, np.nan)
    else:
        cols["pi_df"] = res["df"]
    if tau2_ci:
        cols["tau2_ci_low"] = res["tau2_ci_low"]
        cols["tau2_ci_high"] = res["tau2_ci_high"]
    return pd.DataFrame(cols)


#: Estimators whose leave-one-out tau² has a closed form from the full data's sums (O(k) memory
#: and O(k) work for tau²; the random-effects pass is then one chunked O(k²) product).
_CLOSED_FORM_LOO = ("FE", "DL", "HS", "HE")
#: Cells (rows x studies) per chunk of leave-one-out refits: bounds the working memory at about
#: 20 arrays of this many floats (~0.3 GB) whatever k is.
_LOO_CHUNK_CELLS = 2_000_000


def leave_one_out(yi, vi=None, method: str = "REML", ci: str = "wald", *, pi: str = "metafor",
                  level: float = 95.0, labels: Sequence[str] | None = None,
                  control: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Refit the model k times, each time leaving one study out (metafor's ``leave1out``).

    Returns a DataFrame indexed by the omitted study with the :func:`pool_many` columns
    (estimate, se, ci_low, ci_high, z, p, tau2, i2, h2, q, q_p, pi_low, pi_high).

    Notes
    -----
    A sensitivity analysis: how much the pooled result rests on any one study (Cochrane Handbook
    10.14; Viechtbauer & Cheung 2010, Res Synth Methods 1:112, as metafor's ``leave1out``). Each
    row is the same model as :func:`pool` on the other k - 1 studies, with the formulas given
    there. Memory is O(k) whatever the method:

    - FE, DL, HS, HE: the leave-one-out sums follow from the full sums by deletion, S_(-i) =
      S - w_i, and Q_(-i) = Q - w_i S1/(S1 - w_i) (y_i - mu)² (the weighted sum of squares
      without one point; Chan, Golub & LeVeque 1983), so tau²_(-i) is closed-form; the common-
      effect fit is then O(k) in all. The random-effects estimate needs sum_(j != i)
      1/(v_j + tau²_(-i)) per i, one (rows x k) matrix product per chunk of rows.
    - REML, ML, EB, PM, SJ (iterative or weighted at their own tau²): :func:`pool_many` on
      chunks of at most ``_LOO_CHUNK_CELLS`` cells, each row the k - 1 other studies.

    Needs k >= 2.
    """
    yi, vi, _, es_labels = _unpack_effects(yi, vi, None)
    method, ctl = _check_options(method, ci, pi, level, control)
    y = _as_float("yi", yi).ravel()
    v = _as_float("vi", vi).ravel()
    if y.shape != v.shape:
        raise InputError(f"yi and vi must have the same length (got {y.size} and {v.size})")
    keep = ~(np.isnan(y) | np.isnan(v))
    labels = list(labels if labels is not None else (es_labels or range(1, y.size + 1)))
    if not keep.all():
        warnings.warn("studies with missing yi or vi left out: "
                      + ", ".join(str(labels[i]) for i in np.nonzero(~keep)[0]),
                      MissingDataWarning, stacklevel=2)
        y, v = y[keep], v[keep]
        labels = [s for s, m in zip(labels, keep) if m]
    k = y.size
    if k < 2:
        raise InputError(f"leave-one-out needs at least 2 studies (k = {k})")
    _check_values(y, v)
    if method in _CLOSED_FORM_LOO and k >= 3:
        frame = _loo_closed_form(y, v, method, ci, pi, level)
    else:
        rows = max(1, _LOO_CHUNK_CELLS // max(1, k - 1))
        parts = []
        for start in range(0, k, rows):
            omit = np.arange(start, min(k, start + rows))
            # row r holds every study but omit[r]: column j maps to study j + (j >= omit[r])
            cols = np.arange(k - 1)[None, :]
            idx = cols + (cols >= omit[:, None])
            parts.append(pool_many(y[idx], v[idx], method=method, ci=ci, pi=pi, level=level,
                                   control=control))
        frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    frame.index = pd.Index([str(s) for s in labels], name="omitted")
    return frame


def _loo_closed_form(y, v, method, ci, pi, level):
    """Leave-one-out fits for FE, DL, HS and HE in O(k) memory (see :func:`leave_one_out`)."""
    k = y.size
    kk = float(k - 1)  # studies in each fit
    with np.errstate(all="ignore"):
        w = 1.0 / v
        s1 = w.sum()
        s2 = (w * w).sum()
        mu = (w * y).sum() / s1
        q_full = (w * (y - mu) ** 2).sum()
        s1_i = s1 - w
        s2_i = s2 - w * w
        mu_i = (s1 * mu - w * y) / s1_i
        q_i = np.maximum(q_full - w * s1 / s1_i * (y - mu) ** 2, 0.0)
        if method == "FE":
            tau2 = np.zeros(k)
        elif method == "DL":
            tau2 = (q_i - (kk - 1)) / (s1_i - s2_i / s1_i)
        elif method == "HS":
            tau2 = (q_i - kk) / s1_i
        else:  # HE: unweighted sums, deleted the same way
            ybar = y.mean()
            rss = ((y - ybar) ** 2).sum()
            rss_i = np.maximum(rss - k / kk * (y - ybar) ** 2, 0.0)
            tau2 = (rss_i - (v.sum() - v) * (kk - 1) / kk) / (kk - 1)
        tau2 = np.maximum(np.nan_to_num(tau2, nan=0.0), 0.0)
        if method == "FE":
            sw, est = s1_i, mu_i
            rss_re = q_i
        else:
            sw = np.empty(k)
            swy = np.empty(k)
            rss_re = np.empty(k) if ci == "hksj" else None
            rows = max(1, _LOO_CHUNK_CELLS // k)
            basis = np.column_stack([np.ones(k), y])
            for start in range(0, k, rows):
                sl = slice(start, min(k, start + rows))
                W = 1.0 / (v[None, :] + tau2[sl, None])
                idx = np.arange(sl.start, sl.stop)
                W[idx - start, idx] = 0.0  # the omitted study
                sums = W @ basis
                sw[sl], swy[sl] = sums[:, 0], sums[:, 1]
                if rss_re is not None:
                    r = y[None, :] - (sums[:, 1] / sums[:, 0])[:, None]
                    rss_re[sl] = (W * r * r).sum(axis=1)
            est = swy / sw
        vtyp = (kk - 1) * s1_i / (s1_i * s1_i - s2_i)
        if method == "FE":
            i2 = np.where(q_i > 0, 100 * np.maximum(0.0, (q_i - (kk - 1)) / q_i), 0.0)
            h2 = q_i / (kk - 1)
        else:
            i2 = 100 * tau2 / (vtyp + tau2)
            h2 = (vtyp + tau2) / vtyp
        q_p = _chi2_sf(q_i, kk - 1)
        df = np.full(k, np.nan)
        if ci == "hksj":
            se = np.sqrt(rss_re / (kk - 1) / sw)
            df = np.full(k, kk - 1)
            crit = _t_isf((1 - level / 100) / 2, df)
            zval = est / se
            pval = 2 * _t_sf(np.abs(zval), df)
        else:
            se = np.sqrt(1.0 / sw)
            crit = np.full(k, _norm_isf((1 - level / 100) / 2))
            zval = est / se
            pval = 2 * _norm_sf(np.abs(zval))
        if pi == "t_k2":
            pcrit = _t_isf((1 - level / 100) / 2, kk - 2) if kk - 2 >= 1 else np.nan
        else:
            pcrit = crit
        half = pcrit * np.sqrt(se * se + tau2)
    res = {"k": np.full(k, k - 1), "estimate": est, "se": se, "ci_low": est - crit * se,
           "ci_high": est + crit * se, "z": zval, "p": pval, "df": df, "tau2": tau2, "i2": i2,
           "h2": h2, "q": q_i, "q_p": q_p, "pi_low": est - half, "pi_high": est + half}
    return _many_frame(res, "GEN", method, ci, pi, level, False)
