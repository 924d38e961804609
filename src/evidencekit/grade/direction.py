"""The direction of effect of a body of evidence: from the estimate, or one vote per study.

With an estimate the direction is read from its CI and the important threshold (GRADE 26); with
p-values or words only, each study casts one vote (SWiM), and a sign test says how far the votes
lean.

Notes
-----
Santesso et al. 2020, GRADE 26 (informative statements); Campbell et al. 2020, BMJ 368:l6890
(SWiM); Cochrane Handbook v6.4 12.2.2.1 (vote counting on the direction of effect) and 12.4.2.3
(sign test).
"""
from __future__ import annotations

import math

from ..vocab import PROPORTION_MEASURES
from .body import EvidenceItem
from .estimate import EffectSummary

__all__ = ["body_direction", "sign_test_p", "study_votes"]


def _study_direction(items: list[EvidenceItem]) -> str:
    """One vote per study: benefit, harm, or neither (SWiM: one direction per study)."""
    dirs = {("benefit" if i.supports_benefit else
             "harm" if i.direction == "harm" else "none") for i in items}
    if dirs == {"benefit"}:
        return "benefit"
    if dirs == {"harm"}:
        return "harm"
    if dirs == {"none"}:
        return "none"
    # A study whose results for one question disagree (e.g. better than one comparator, not
    # another) casts no clear vote either way.
    return "mixed"


def study_votes(body: list[EvidenceItem], excluded: set[str]) -> dict[str, int]:
    by_study: dict[str, list[EvidenceItem]] = {}
    for i in body:
        if i.study not in excluded:
            by_study.setdefault(i.study, []).append(i)
    votes = {"benefit": 0, "harm": 0, "none": 0, "mixed": 0}
    for items in by_study.values():
        votes[_study_direction(items)] += 1
    return votes


def sign_test_p(benefit: int, harm: int) -> float | None:
    """Two-sided binomial (sign) test of benefit vs harm votes (Cochrane Handbook 12.4.2.3)."""
    n = benefit + harm
    if n == 0:
        return None
    k = min(benefit, harm)
    tail = sum(math.comb(n, j) for j in range(k + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def body_direction(main: EffectSummary | None, votes: dict[str, int]) -> str:
    if main is not None and main.measure in PROPORTION_MEASURES:
        return "unclear"  # one group: a frequency, not an effect with a direction
    if main is not None and main.benefit_low is not None:
        t = main.threshold
        if t is not None and abs(main.benefit) < t:
            # GRADE 26: a point estimate below the important threshold is "little to no
            # difference", whether or not the CI excludes zero.
            return "no-difference"
        if main.benefit_low > 0:
            return "benefit"
        if main.benefit_high < 0:
            return "harm"
        # The CI includes no effect: GRADE 26 words the statement from the point estimate (the
        # certainty carries the imprecision), the same way for an important benefit and an
        # important harm.
        if t is not None and main.benefit >= t:
            return "benefit"
        if t is not None and main.benefit <= -t:
            return "harm"
        return "unclear"
    cast = votes["benefit"] + votes["harm"] + votes["none"] + votes["mixed"]
    if not cast:
        return "no-evidence"
    if votes["benefit"] * 2 > cast:
        return "benefit"
    if votes["harm"] * 2 > cast:
        return "harm"
    if votes["none"] * 2 > cast:
        return "no-difference"
    return "unclear"
