"""How the text summaries of :mod:`evidencekit.stats` write a number and a p-value."""
from __future__ import annotations

import math

__all__ = ["number", "p_comparison"]


def number(x: float | None, digits: int = 4) -> str:
    """``x`` with ``digits`` decimals, or "NA" where it is missing or not finite."""
    if x is None or not math.isfinite(x):
        return "NA"
    return f"{x:.{digits}f}"


def p_comparison(p: float) -> str:
    """A p-value as the comparison that follows "p": "= 0.0123", "< 0.0001" or "= NA"."""
    if not math.isfinite(p):
        return "= NA"
    return "< 0.0001" if p < 1e-4 else f"= {p:.4f}"
