"""Root finding as R does it: Brent's zeroin (R's ``uniroot``), vectorised over analyses.

Each analysis runs exactly the iteration R runs, so a root found with R's tolerance lands where
metafor's does (Paule-Mandel tau², the Q-profile interval, the score fallback).
"""
from __future__ import annotations

import numpy as np

__all__ = ["zeroin", "bracket_up"]


def zeroin(f, lo, hi, flo, fhi, tol, maxiter):
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
    """:func:`zeroin` for one row, step for step (R's R_zeroin2). Returns (root, converged)."""
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


def bracket_up(f_of_t, start, need_negative):
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
