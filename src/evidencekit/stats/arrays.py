"""Turning inputs into checked float arrays, and the read-only arrays results hold.

Shared by every module of :mod:`evidencekit.stats`, so that a bad input gets the same message
(the argument's name, the study, the fix) wherever it is given.
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError

__all__ = ["as_array", "same_length", "check_positive", "frozen", "as_float", "check_values",
           "paired_yi_vi"]


def as_array(name: str, value, k: int | None = None) -> np.ndarray:
    if value is None:
        raise InputError(f"missing argument {name!r}", field=name)
    try:
        a = np.asarray(value, dtype=float).ravel()
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be numbers: {exc}", field=name) from None
    if k is not None and a.size == 1 and k > 1:
        a = np.repeat(a, k)
    return a


def same_length(named: dict[str, np.ndarray]) -> int:
    sizes = {n: a.size for n, a in named.items()}
    if len(set(sizes.values())) > 1:
        detail = ", ".join(f"{n}={s}" for n, s in sizes.items())
        raise InputError(f"inputs must have one value per study and the same length ({detail})")
    return next(iter(sizes.values())) if sizes else 0


def check_positive(name: str, a: np.ndarray, allow_zero: bool = False) -> None:
    bad = ~np.isnan(a) & ((a < 0) if allow_zero else (a <= 0))
    bad |= np.isinf(a)
    if bad.any():
        idx = ", ".join(str(i + 1) for i in np.nonzero(bad)[0])
        req = "non-negative" if allow_zero else "positive"
        raise InputError(f"{name} must be finite and {req}; check study/studies {idx}", field=name)


def frozen(a) -> np.ndarray:
    a = np.array(a, dtype=float) if not (isinstance(a, np.ndarray) and a.dtype == bool) \
        else a.copy()
    a.flags.writeable = False
    return a


def as_float(name, values):
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be numbers: {exc}", field=name) from None
    return arr


def check_values(yi, vi, where=""):
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


def paired_yi_vi(yi, vi):
    """yi and vi as float arrays of one length (missing values stay NaN; the caller drops them)."""
    try:
        y = np.asarray(yi, dtype=float).ravel()
        v = np.asarray(vi, dtype=float).ravel()
    except (TypeError, ValueError) as exc:
        raise InputError(f"yi and vi must be numbers: {exc}") from None
    if y.shape != v.shape:
        raise InputError(f"yi and vi must have the same length (got {y.size} and {v.size})")
    return y, v
