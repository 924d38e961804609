"""An estimate with its inference, and the studies it was pooled from: what every fitted result of
:mod:`evidencekit.stats` shares."""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

__all__ = ["Inference", "PooledEstimate", "StudyWeight"]


@dataclass(frozen=True, slots=True)
class Inference:
    """An estimate, its standard error, confidence interval and test, frozen.

    The base of :class:`PooledEstimate` and :class:`~evidencekit.stats.models.Coefficient`,
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


class StudyWeight(NamedTuple):
    """One study in a fit: the ``studies: [{yi, vi, weight}]`` entries of the JSON contract."""

    yi: float
    vi: float
    weight: float  # percent of the total weight, as metafor's weights()


@dataclass(frozen=True, slots=True)
class PooledEstimate(Inference):
    """An :class:`Inference` pooled from studies, with each study's ``yi``, ``vi``, ``weight``
    (percent of the total weight, as metafor's ``weights()``) and label, frozen.

    The base of :class:`~evidencekit.stats.pooling.PoolResult` and
    :class:`~evidencekit.stats.mh.TableResult`: both give the JSON contract's
    ``studies: [{yi, vi, weight}]`` from :attr:`studies`.
    """

    yi: np.ndarray
    vi: np.ndarray
    weight: np.ndarray
    labels: tuple[str, ...]

    @property
    def studies(self) -> tuple[StudyWeight, ...]:
        """Per study ``(yi, vi, weight)``: the contract's ``studies`` key as an attribute."""
        return tuple(StudyWeight(float(y), float(v), float(w))
                     for y, v, w in zip(self.yi, self.vi, self.weight))
