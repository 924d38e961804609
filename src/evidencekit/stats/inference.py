"""An estimate with its inference: the fields every fitted result of :mod:`evidencekit.stats` shares."""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Inference"]


@dataclass(frozen=True, slots=True)
class Inference:
    """An estimate, its standard error, confidence interval and test, frozen.

    The base of :class:`~evidencekit.stats.pooling.PoolResult`,
    :class:`~evidencekit.stats.mh.TableResult` and :class:`~evidencekit.stats.models.Coefficient`,
    so these six names mean the same wherever they appear (and in the JSON they become).
    ``z`` is the Wald z statistic, or the t statistic where the result says a t test was used
    (HKSJ, Knapp-Hartung), as metafor's ``zval``; ``p`` is its two-sided p-value. The interval's
    level is the result's ``level``.
    """

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    z: float
    p: float
