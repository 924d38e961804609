"""The GRADE domains judged from the numbers: inconsistency, imprecision and rating up.

Inconsistency reads I², tau², the prediction interval and where the studies' point estimates sit
against the important threshold; imprecision reads the CI against no effect and that threshold,
and the participants against the optimal information size; a large ratio rates a non-randomised
body up. Each rule returns one :class:`~.rating.CertaintyStep`.

Notes
-----
Guyatt et al. 2011, J Clin Epidemiol 64: GRADE 6 (imprecision, optimal information size), 7
(inconsistency), 9 (rating up); Cochrane Handbook v6.4 10.10.2 (I² bands); Hultcrantz 2017, J Clin
Epidemiol 87:4-13 (imprecision of "little to no difference").
"""
from __future__ import annotations

import math

from ..vocab import CERTAINTY_LEVELS, PROPORTION_MEASURES, RATIO_MEASURES
from ..evidence.records import Question
from .body import EvidenceItem
from .estimate import EffectSummary
from .frequencies import (PROPORTION_HALF_WIDTH, few_study_frequency, frequency_imprecision,
                          frequency_inconsistency)
from .rating import CertaintyStep

__all__ = [
    "CONSISTENT_SHARE", "I2_CONSIDERABLE", "I2_SUBSTANTIAL", "OPTIMAL_INFORMATION_SIZE",
    "optimal_information_size", "rate_imprecision", "rate_inconsistency", "rate_up",
]

#: Total participants below which a continuous outcome fails the optimal information size rule of
#: thumb (Guyatt 2011, GRADE 6, section 5: "a total of 400 patients" for continuous outcomes,
#: roughly what a single adequately powered trial for a small-to-moderate SMD of 0.2-0.3 needs).
OPTIMAL_INFORMATION_SIZE = 400

#: I² above which pooled results are called inconsistent (Cochrane Handbook 10.10.2: 50-90 %
#: "may represent substantial heterogeneity"; GRADE 7 uses the same reading).
I2_SUBSTANTIAL = 50.0

#: Share of studies that must agree in direction for a body to count as consistent. GRADE 7 asks
#: whether results vary more than chance and the chosen comparators explain; with direction-only
#: data, our rule of thumb is that fewer than two in three pointing the same way is inconsistent.
CONSISTENT_SHARE = 2 / 3

#: Ratio thresholds for a large effect (Guyatt 2011, GRADE 9: RR > 2 or < 0.5 up one level,
#: RR > 5 or < 0.2 up two levels).
LARGE_RATIO, VERY_LARGE_RATIO = 2.0, 5.0

#: I² from which heterogeneity may be "considerable" (Cochrane Handbook 10.10.2: 75-100 %).
I2_CONSIDERABLE = 75.0

#: Relative risk reduction for the optimal information size of a dichotomous outcome (GRADE 6,
#: section 5: "a relative risk reduction of 25 %"), with two-sided alpha 0.05 and power 0.80.
OIS_RRR, OIS_ALPHA, OIS_POWER = 0.25, 0.05, 0.80


def rate_inconsistency(body: list[EvidenceItem], main: EffectSummary | None,
                       votes: dict[str, int]) -> CertaintyStep:
    """Inconsistency from the numbers: I², tau², the prediction interval and where the studies'
    point estimates sit against the threshold (GRADE 7; Cochrane Handbook 10.10.2)."""
    n_studies = len({i.study for i in body})
    if n_studies <= 1 or (main is not None and main.source != "meta-analysis" and main.k == 1
                          and n_studies <= 1):
        return CertaintyStep("inconsistency", 0, "a single study: consistency cannot be judged, "
                             "so the domain is not rated down (GRADE Handbook 5.2.2)")
    if few_study_frequency(main):
        return frequency_inconsistency(body, main)
    if main is not None and main.measure in PROPORTION_MEASURES and main.source == "meta-analysis":
        # One group per study: there is no line of no effect to sit on either side of, so the
        # spread itself is judged (I², and the prediction interval in words).
        i2 = main.i2 if main.i2 is not None and math.isfinite(main.i2) else 0.0
        text = (f"I² = {i2:.0f}%, tau² = {main.tau2:.3g}; the proportions in a new study are "
                f"predicted to lie between {main.pi_low:.2f} and {main.pi_high:.2f}")
        if i2 >= I2_SUBSTANTIAL:
            return CertaintyStep("inconsistency", -1, f"{text}: substantial variation between "
                                 "the studies (GRADE 7; Cochrane Handbook 10.10.2)")
        return CertaintyStep("inconsistency", 0, f"{text} (GRADE 7)")
    if main is not None and main.source == "meta-analysis" and main.yi:
        t = main.threshold or 0.0
        sign = main.sign
        points = [y * sign for y in main.yi]
        # "Both sides": some point estimates show an important benefit, others do not (GRADE 7:
        # variation matters when it crosses the threshold a decision rests on). With no
        # threshold the line is no effect.
        above = sum(1 for b in points if b >= t)
        below = sum(1 for b in points if b < t)
        both = above > 0 and below > 0
        i2 = main.i2 if main.i2 is not None and math.isfinite(main.i2) else 0.0
        pi = main.pi_benefit
        pi_text = ("" if pi is None else
                   f"; the 95% prediction interval runs from {main.pi_low:.3g} to "
                   f"{main.pi_high:.3g}")
        tau_text = f"tau² = {main.tau2:.3g}" if main.tau2 is not None else "tau² not estimated"
        where = (f"{above} of {len(points)} point estimates show "
                 + ("an important benefit" if t else "a benefit")
                 + f", {below} {'a smaller or no benefit' if t else 'the opposite direction'}")
        pi_both = pi is not None and pi[0] < -t and pi[1] > t
        if i2 >= I2_CONSIDERABLE and both and pi_both and any(
                (y * sign + 1.959963984540054 * math.sqrt(v)) < 0
                for y, v in zip(main.yi, main.vi)):
            return CertaintyStep("inconsistency", -2, f"I² = {i2:.0f}% (considerable), {tau_text}"
                                 f"; {where}, and some studies exclude no effect in the opposite "
                                 f"direction{pi_text}, which includes important effects both "
                                 "ways (GRADE 7; Cochrane Handbook 10.10.2)")
        if i2 >= I2_SUBSTANTIAL and both:
            return CertaintyStep("inconsistency", -1, f"I² = {i2:.0f}%, {tau_text}; {where}"
                                 f"{pi_text} (GRADE 7; Cochrane Handbook 10.10.2). Look for "
                                 "an explanation (population, dose, design) before accepting it")
        if i2 >= I2_SUBSTANTIAL:
            return CertaintyStep("inconsistency", 0, f"I² = {i2:.0f}%, {tau_text}, but all "
                                 f"{len(points)} point estimates sit on the same side of the "
                                 f"{'threshold' if t else 'line of no effect'}{pi_text}: the "
                                 "variation does not change the conclusion (GRADE 7)")
        return CertaintyStep("inconsistency", 0, f"I² = {i2:.0f}%, {tau_text}; {where}"
                             f"{pi_text} (GRADE 7)")
    if main is not None and main.i2 is not None and not math.isnan(main.i2) \
            and main.i2 >= I2_SUBSTANTIAL:
        return CertaintyStep("inconsistency", -1, f"I² = {main.i2:.0f}% across the pooled trials "
                             f"(substantial; Cochrane Handbook 10.10.2, GRADE 7)")
    # No pooled analysis of the studies themselves (a review's pooled result carries the
    # estimate, or only directions were reported): the direction of each study is all there is.
    agree, disagree = votes["benefit"], votes["none"] + votes["harm"] + votes["mixed"]
    if agree and disagree and agree < CONSISTENT_SHARE * (agree + disagree):
        return CertaintyStep("inconsistency", -1, f"studies disagree: {agree} found a benefit, "
                             f"{disagree} found none, a mixed result or the opposite (GRADE 7)")
    if agree and disagree:
        return CertaintyStep("inconsistency", 0, f"most studies agree: {agree} found a benefit, "
                             f"{disagree} did not (at least {CONSISTENT_SHARE:.0%} agree; GRADE 7)")
    return CertaintyStep("inconsistency", 0, f"the {n_studies} studies point the same way")


def rate_imprecision(main: EffectSummary | None, body: list[EvidenceItem],
                     total_n: int | None, n_complete: bool = True,
                     question: Question | None = None) -> CertaintyStep:
    if main is None or main.benefit_low is None:
        # No CI: precision can only be judged from the number of participants.
        if total_n is None:
            return CertaintyStep("imprecision", -1, "no confidence interval and no participant "
                                 "numbers: precision cannot be shown (GRADE 6)")
        n_text = f"{total_n} participants" + ("" if n_complete else
                                              " in the studies that report n")
        if total_n < OPTIMAL_INFORMATION_SIZE:
            return CertaintyStep("imprecision", -1, f"no confidence interval and {n_text}, below "
                                 f"the optimal information size of ~{OPTIMAL_INFORMATION_SIZE} "
                                 "(GRADE 6)")
        return CertaintyStep("imprecision", 0, f"no confidence interval; {n_text}")
    if few_study_frequency(main):
        return frequency_imprecision(body, main)
    if main.measure in PROPORTION_MEASURES:
        half = (main.ci_high - main.ci_low) / 2
        text = (f"the 95% CI of the proportion runs from {main.ci_low:.2f} to {main.ci_high:.2f} "
                f"(half-width {half:.2f}) with {main.n or 'an unreported number of'} participants")
        if half > PROPORTION_HALF_WIDTH:
            return CertaintyStep("imprecision", -1, f"{text}: wider than ±"
                                 f"{PROPORTION_HALF_WIDTH:.2f}, our threshold for a frequency "
                                 "(GRADE 6)")
        return CertaintyStep("imprecision", 0, f"{text}: within ±{PROPORTION_HALF_WIDTH:.2f}, "
                             "our threshold for a frequency (GRADE 6)")
    if main.measure in ("RR", "OR", "RD") and main.control_risk and main.n:
        ois = optimal_information_size(main.control_risk)
        lo, hi, t = main.benefit_low, main.benefit_high, main.threshold
        if main.n < ois and not (lo < 0 < hi) and not (t is not None and lo < t < hi):
            return CertaintyStep("imprecision", -1, f"the CI {main.ci_low:.3g} to "
                                 f"{main.ci_high:.3g} excludes no effect, but {main.n} "
                                 f"participants are fewer than the optimal information size of "
                                 f"{ois} (comparator risk {main.control_risk:.3g}, relative "
                                 f"reduction {OIS_RRR:.0%}, alpha {OIS_ALPHA:g}, power "
                                 f"{OIS_POWER:g}; GRADE 6)")
    # With a CI, the optimal information size is judged on the participants behind the estimate.
    n = main.n
    n_text = f"{n} participants" if n else "participants not reported for this estimate"
    small = n is not None and n < OPTIMAL_INFORMATION_SIZE
    lo, hi, t = main.benefit_low, main.benefit_high, main.threshold
    ci = f"CI {main.ci_low:.3g} to {main.ci_high:.3g}"
    ie = question.important_effect if question is not None else None
    judged = ("an author judgement, not a published threshold"
              if ie is not None and ie.author_judgement and main.measure not in RATIO_MEASURES
              else "")
    shown = (None if t is None else f"ratio {math.exp(t):.3g}" if main.measure in RATIO_MEASURES
             else f"{t:g}" + (f" ({judged})" if judged else ""))
    crosses_null = lo < 0 < hi
    if t is not None and lo < -t and hi > t:
        return CertaintyStep("imprecision", -2, f"the {ci} includes both an important benefit "
                             f"and an important harm (threshold {shown}; GRADE 6)")
    if t is not None and abs(main.benefit) < t:
        # A "little to no difference" reading: the CI is judged against the important thresholds
        # on both sides, not against zero. A CI that includes zero but stays inside them is
        # precise for this reading (GRADE 6; Hultcrantz 2017, J Clin Epidemiol 87:4-13).
        if hi > t or lo < -t:
            return CertaintyStep("imprecision", -1, f"the {ci} includes effects both above and "
                                 f"below the important threshold of {shown}, so an important "
                                 "effect is not ruled out (GRADE 6)")
        if small:
            return CertaintyStep("imprecision", -1, f"{n_text}, below the optimal information "
                                 f"size of ~{OPTIMAL_INFORMATION_SIZE} (GRADE 6)")
        return CertaintyStep("imprecision", 0, f"the {ci} lies within the important thresholds "
                             f"(±{shown}) on both sides; {n_text}")
    if crosses_null:
        change = -2 if small else -1
        return CertaintyStep("imprecision", change, f"the {ci} includes no effect"
                             + (f" and {n_text} is below the optimal information size "
                                f"(~{OPTIMAL_INFORMATION_SIZE})" if small else "") + " (GRADE 6)")
    if t is not None and (lo < t < hi or lo < -t < hi):
        # A benefit straddles +t; a harm (an estimate below zero on the benefit scale) straddles -t.
        return CertaintyStep("imprecision", -1, f"the {ci} includes effects both above and below "
                             f"the important threshold of {shown} (GRADE 6)")
    if small:
        return CertaintyStep("imprecision", -1, f"{n_text}, below the optimal information size "
                             f"of ~{OPTIMAL_INFORMATION_SIZE} (GRADE 6)")
    if t is None and not main.scale_stated and ie is not None:
        return CertaintyStep("imprecision", -1, f"the {ci} excludes no effect, but the scale of "
                             f"this {main.measure} is not stated in the records, so it cannot be "
                             f"compared with the important threshold ({ie.value:g}, in "
                             f"{ie.scale}" + (f"; {judged}" if judged else "") + "): the CI may "
                             "include effects too small to matter (GRADE 6)")
    if t is None:
        return CertaintyStep("imprecision", 0, f"the {ci} excludes no effect; no important "
                             f"threshold on this scale, so only no effect was judged; {n_text}")
    return CertaintyStep("imprecision", 0, f"the {ci} lies on one side of the threshold ({shown}); "
                         f"{n_text}")


def optimal_information_size(control_risk: float, rrr: float = OIS_RRR, alpha: float = OIS_ALPHA,
                             power: float = OIS_POWER) -> int:
    """Participants a single trial would need to detect a relative risk reduction ``rrr``.

    Notes
    -----
    Two-proportion sample size, n per group = (z_(1-α/2) + z_(1-β))² (p0 q0 + p1 q1) / (p0 - p1)²
    with p1 = p0 (1 - rrr); both groups together (GRADE 6, Guyatt 2011, section 5: the optimal
    information size for dichotomous outcomes).
    """
    from statistics import NormalDist

    p0 = min(max(control_risk, 1e-9), 1 - 1e-9)
    p1 = p0 * (1 - rrr)
    z = NormalDist().inv_cdf(1 - alpha / 2) + NormalDist().inv_cdf(power)
    per_group = z ** 2 * (p0 * (1 - p0) + p1 * (1 - p1)) / (p0 - p1) ** 2
    return int(math.ceil(per_group)) * 2


def rate_up(start_index: int, main: EffectSummary | None,
            down: list[CertaintyStep]) -> list[CertaintyStep]:
    if start_index == CERTAINTY_LEVELS.index("high"):
        return []  # GRADE 9: rating up applies to non-randomised evidence only
    steps = []
    change, reason = 0, "no ratio measure with a large effect (GRADE 9: RR > 2 or < 0.5)"
    serious = any(s.change < 0 for s in down if s.domain in ("risk-of-bias", "imprecision"))
    if main is not None and main.measure in RATIO_MEASURES and main.benefit_low is not None:
        rr = math.exp(abs(main.benefit))
        low_end = math.exp(min(abs(main.benefit_low), abs(main.benefit_high)))
        if serious:
            reason = "not rated up: the body has serious risk of bias or imprecision (GRADE 9)"
        elif main.benefit_low > 0 and rr >= VERY_LARGE_RATIO and low_end >= LARGE_RATIO:
            change, reason = 2, f"very large effect (ratio {rr:.2g}; GRADE 9)"
        elif main.benefit_low > 0 and rr >= LARGE_RATIO:
            change, reason = 1, f"large effect (ratio {rr:.2g}; GRADE 9)"
    steps.append(CertaintyStep("large-effect", change, reason))
    steps.append(CertaintyStep("dose-response", 0, "the records hold no dose-response data "
                               "(GRADE 9)"))
    return steps
