"""Single-group frequencies: the CIOMS bands, and judging a few studies' frequencies one by one.

A pooled proportion from fewer than :data:`FEW_STUDIES_FOR_POOLED_FREQUENCY` studies has an interval
too wide to use (the HKSJ interval at k = 2 spans almost 0 to 1), so inconsistency and imprecision
are judged from each study's own estimate and CI instead.

Notes
-----
CIOMS Working Group III / EU summary of product characteristics frequency convention; Cochrane
Handbook v6.4 10.10.4.2 (few studies); GRADE 6 (imprecision) and GRADE 21 (inconsistency).
"""
from __future__ import annotations

from ..vocab import PROPORTION_MEASURES
from .body import EvidenceItem
from .estimate import EffectSummary
from .rating import CertaintyStep

__all__ = [
    "FEW_STUDIES_FOR_POOLED_FREQUENCY", "FREQUENCY_BANDS", "PROPORTION_HALF_WIDTH",
    "few_study_frequency", "frequency_band", "frequency_imprecision", "frequency_inconsistency",
]

#: Half-width of a 95 % CI of a single-group proportion above which the estimate is imprecise:
#: 10 percentage points either side. Our judgement (GRADE gives no fixed threshold for frequencies;
#: Iorio 2015 (GRADE for prognosis) asks whether the CI would change a decision).
PROPORTION_HALF_WIDTH = 0.10

#: Below this many studies a pooled single-group proportion is not used to judge inconsistency
#: or imprecision: with k = 2 the Hartung-Knapp-Sidik-Jonkman interval uses a t distribution
#: with 1 degree of freedom and spans almost 0 to 1 even when each study counts thousands of
#: treatments (Cochrane Handbook 10.10.4.2: with few studies tau² is poorly estimated). The
#: spread of the studies' own estimates is judged instead (GRADE 21 on inconsistency).
FEW_STUDIES_FOR_POOLED_FREQUENCY = 5

#: Frequency bands of the CIOMS / EU summary-of-product-characteristics convention (lower bounds):
#: very common >= 1/10, common >= 1/100, uncommon >= 1/1000, rare >= 1/10000, very rare below.
#: Studies whose frequencies fall in the same band tell a patient the same thing.
FREQUENCY_BANDS = ((0.1, "very common"), (0.01, "common"), (0.001, "uncommon"),
                   (0.0001, "rare"), (0.0, "very rare"))


def frequency_band(proportion: float) -> str:
    """The CIOMS frequency band of a proportion ("very common" ... "very rare")."""
    return next(name for cut, name in FREQUENCY_BANDS if proportion >= cut)


def few_study_frequency(main: EffectSummary | None) -> bool:
    """Whether ``main`` is a pooled single-group proportion from fewer than
    :data:`FEW_STUDIES_FOR_POOLED_FREQUENCY` studies (judged study by study, not pooled)."""
    return (main is not None and main.measure in PROPORTION_MEASURES and main.source == "meta-analysis"
            and (main.k or 0) < FEW_STUDIES_FOR_POOLED_FREQUENCY)


def _frequency_items(body: list[EvidenceItem], main: EffectSummary) -> list[EvidenceItem]:
    records = set(main.records)
    return [i for i in body if i.record in records and i.estimate is not None
            and i.ci_low is not None and i.ci_high is not None]


def frequency_inconsistency(body: list[EvidenceItem], main: EffectSummary) -> CertaintyStep:
    """Inconsistency of a few single-group proportions from the studies' own estimates.

    Notes
    -----
    Rated down one level when the studies' point estimates fall in different CIOMS frequency
    bands (:data:`FREQUENCY_BANDS`) and their 95% CIs do not overlap: the difference is real and
    it would change what a patient is told (GRADE 21, inconsistency judged against the decision
    the estimate informs). Estimates in one band differ without changing the message.
    """
    items = _frequency_items(body, main)
    if len(items) < 2:
        return CertaintyStep("inconsistency", 0, "a single study: consistency cannot be judged, "
                             "so the domain is not rated down (GRADE Handbook 5.2.2)")
    bands = {frequency_band(i.estimate) for i in items}
    overlap = max(i.ci_low for i in items) <= min(i.ci_high for i in items)
    listed = "; ".join(f"{i.record}: {i.estimate:.3g} (95% CI {i.ci_low:.3g} to {i.ci_high:.3g}, "
                       f"{frequency_band(i.estimate)})" for i in items)
    rule = (f"fewer than {FEW_STUDIES_FOR_POOLED_FREQUENCY} studies, so judged from the studies' "
            "own estimates, not the pooled HKSJ interval (Cochrane Handbook 10.10.4.2; GRADE 21)")
    if len(bands) > 1 and not overlap:
        return CertaintyStep("inconsistency", -1, f"{listed}: the studies fall in different "
                             f"frequency bands and their CIs do not overlap; {rule}")
    why = ("all in the same frequency band" if len(bands) == 1
           else "their CIs overlap")
    return CertaintyStep("inconsistency", 0, f"{listed}: {why}; {rule}")


def frequency_imprecision(body: list[EvidenceItem], main: EffectSummary) -> CertaintyStep:
    """Imprecision of a few single-group proportions from each study's own 95% CI.

    Notes
    -----
    Rated down one level when any study's CI is wider than ±:data:`PROPORTION_HALF_WIDTH`, or
    spans more than one CIOMS frequency band next to its estimate's (GRADE 6: would the decision
    differ at either end of the interval). The pooled interval at k < 5 is not used (Cochrane
    Handbook 10.10.4.2).
    """
    items = _frequency_items(body, main)
    if not items:
        return CertaintyStep("imprecision", -1, "no study CI for the frequency (GRADE 6)")
    wide = []
    for i in items:
        half = (i.ci_high - i.ci_low) / 2
        names = [name for _, name in FREQUENCY_BANDS]
        spread = abs(names.index(frequency_band(i.ci_low)) - names.index(frequency_band(i.ci_high)))
        if half > PROPORTION_HALF_WIDTH or spread > 1:
            wide.append(i.record)
    listed = "; ".join(f"{i.record}: {i.ci_low:.3g} to {i.ci_high:.3g} (n = {i.n or 'not reported'})"
                       for i in items)
    rule = (f"judged study by study because fewer than {FEW_STUDIES_FOR_POOLED_FREQUENCY} studies "
            "were pooled (Cochrane Handbook 10.10.4.2; GRADE 6)")
    if wide:
        return CertaintyStep("imprecision", -1, f"95% CIs {listed}: {', '.join(wide)} wider than "
                             f"±{PROPORTION_HALF_WIDTH:.2f} or across more than two frequency "
                             f"bands; {rule}")
    return CertaintyStep("imprecision", 0, f"95% CIs {listed}: each within ±"
                         f"{PROPORTION_HALF_WIDTH:.2f} and within two neighbouring frequency bands; "
                         f"{rule}")
