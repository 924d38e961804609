"""The GRADE domains judged from what the studies are: risk of bias, indirectness, publication bias.

Each rule returns one :class:`~.rating.CertaintyStep`. A concern counts when it applies to the
studies that give most of the information (by participants, or by weight in our pooled analysis),
not when a minority is affected.

Notes
-----
Guyatt et al. 2011, J Clin Epidemiol 64: GRADE 4 (risk of bias), 8 (indirectness), 5 (publication
bias); Cochrane Handbook v6.4 13.3.5.4 (small-study tests need 10 or more studies); Egger et al.
1997 (asymmetry test, alpha 0.10).
"""
from __future__ import annotations

from typing import Callable, Iterable, Mapping

from ..evidence.records import Question
from .body import EvidenceItem
from .estimate import EffectSummary
from .rating import CertaintyStep

__all__ = [
    "EGGER_ALPHA", "MAJORITY", "MIN_STUDIES_FOR_SMALL_STUDY_TESTS", "rate_indirectness",
    "rate_publication_bias", "rate_risk_of_bias",
]

#: Share of the body's weight that must carry a concern before a domain is rated down: GRADE rates
#: down when the concern applies to the studies that provide most of the information (Guyatt 2011,
#: GRADE 4 section 6 and GRADE 8 section 3), not when a minority is affected.
MAJORITY = 0.5

#: Number of studies below which funnel-plot tests lack power (Cochrane Handbook 13.3.5.4).
MIN_STUDIES_FOR_SMALL_STUDY_TESTS = 10

#: Egger's test p-value below which funnel asymmetry is taken as a sign of small-study effects
#: (Egger et al. 1997 used 0.10; Cochrane Handbook 13.3.5.4).
EGGER_ALPHA = 0.10


def _weights(items: Iterable[EvidenceItem]) -> dict[str, float]:
    """Weight per study: its participants, so big studies count for more.

    When any study's n is unknown (review abstracts often omit it) every study weighs the same:
    giving an unknown n a weight of 1 would let a 14-person trial outweigh a review.
    """
    n: dict[str, int | None] = {}
    for i in items:
        n[i.study] = max(n.get(i.study) or 0, i.n or 0) or None
    if any(v is None for v in n.values()):
        return {s: 1.0 for s in n}
    return {s: float(v) for s, v in n.items()}


def _share(items: list[EvidenceItem], pred: Callable[[EvidenceItem], bool]) -> float:
    w = _weights(items)
    total = sum(w.values())
    hit = sum(w[s] for s in {i.study for i in items if pred(i)})
    return hit / total if total else 0.0


def _analysis_share(main: EffectSummary | None, concerns: Mapping[str, str]) -> float | None:
    """Share of the pooled analysis's weight carried by studies in ``concerns`` (None: no
    pooled analysis)."""
    if main is None or main.source != "meta-analysis" or not main.weights:
        return None
    total = sum(main.weights)
    hit = sum(w for r, w in zip(main.records, main.weights) if r.split("#")[0] in concerns)
    return hit / total if total else None


def rate_risk_of_bias(body: list[EvidenceItem], main: EffectSummary | None = None) -> CertaintyStep:
    if main is not None and main.source == "meta-analysis":
        # The studies in the analysis, weighted by their share of its weight (GRADE 4: rate
        # down when the studies that provide most of the information are at risk).
        inside = {r.split("#")[0] for r in main.records}
        body = [i for i in body if i.study in inside] or body
    by_study = {i.study: i.risk_of_bias for i in body}
    concerns = {s: r for s, r in by_study.items()
                if r in ("high", "not-assessable", "not-applicable")}
    share = _analysis_share(main, concerns)
    if share is None:
        share = _share(body, lambda i: i.study in concerns)
    if by_study and all(r == "not-assessable" for r in by_study.values()):
        return CertaintyStep("risk-of-bias", -1, "risk of bias has not been assessed for any "
                             f"study ({len(by_study)}): without it the evidence cannot be taken "
                             "as free of serious limitations; assess each study (RoB 2, "
                             "ROBINS-I) and record it (GRADE 4)")
    listing = ", ".join(f"{s} ({r})" for s, r in sorted(concerns.items()))
    if by_study and all(r == "high" for r in by_study.values()):
        return CertaintyStep("risk-of-bias", -2, f"every study is at high risk of bias ({listing}); "
                             "GRADE 4: very serious limitations")
    if share > MAJORITY:
        return CertaintyStep("risk-of-bias", -1, f"studies giving {share:.0%} of the "
                             f"{'weight in the analysis' if _analysis_share(main, concerns) is not None else 'information'} "
                             f"are at high or unclear risk of bias: {listing} (GRADE 4)")
    some = sorted(s for s, r in by_study.items() if r == "some-concerns")
    if some:
        # RoB 2 "some concerns" is not by itself a serious limitation (GRADE 4 rates down for
        # serious limitations); it is named so a clinician can override.
        return CertaintyStep("risk-of-bias", 0, f"some concerns ({', '.join(some)}), not judged "
                             "serious" + (f"; high or unclear: {listing}" if listing else "")
                             + " (GRADE 4)")
    return CertaintyStep("risk-of-bias", 0, "most of the information comes from studies at low risk "
                         "of bias" + (f"; concerns about {listing}" if listing else ""))


def rate_indirectness(body: list[EvidenceItem], question: Question) -> CertaintyStep:
    indirect = [i for i in body if i.indirect]
    if not indirect:
        return CertaintyStep("indirectness", 0, "studies match the question's population, "
                             "intervention, comparator and outcome")
    share = _share(body, lambda i: bool(i.indirect))
    reasons = "; ".join(sorted({f"{i.study}: {i.indirect}" for i in indirect}))
    if question.kind == "mechanism" and all(i.design == "animal-study" for i in body):
        return CertaintyStep("indirectness", -2, f"all data come from animals, while the claims are "
                             f"about patients ({reasons}); GRADE 8: very serious indirectness")
    if share > MAJORITY:
        change = -2 if share >= 1 and len({i.indirect for i in indirect}) > 1 else -1
        return CertaintyStep("indirectness", change, f"{share:.0%} of the information is indirect: "
                             f"{reasons} (GRADE 8)")
    return CertaintyStep("indirectness", 0, f"some evidence is indirect ({reasons}), but most of "
                         "the information is direct (GRADE 8)")


def rate_publication_bias(body: list[EvidenceItem], main: EffectSummary | None) -> CertaintyStep:
    if main is not None and main.source == "meta-analysis" and len(main.yi) >= \
            MIN_STUDIES_FOR_SMALL_STUDY_TESTS:
        from ..stats.bias import egger_test

        eg = egger_test(main.yi, main.vi)
        if eg.p < EGGER_ALPHA:
            return CertaintyStep("publication-bias", -1, f"Egger's test on the {len(main.yi)} "
                                 f"studies: t = {eg.statistic:.2f}, p = {eg.p:.2g} (below "
                                 f"{EGGER_ALPHA:g}): the funnel plot is asymmetric, so small "
                                 "studies may show larger effects than the rest; publication "
                                 "bias is suspected (GRADE 5; Cochrane Handbook 13.3.5.4)")
        return CertaintyStep("publication-bias", 0, f"Egger's test on the {len(main.yi)} studies: "
                             f"t = {eg.statistic:.2f}, p = {eg.p:.2g}: no sign of funnel-plot "
                             "asymmetry (a test cannot rule publication bias out; GRADE 5)")
    if main is not None and main.source == "review-pooled" and not main.k:
        # The body is reviews (each pooling an unreported number of trials) and perhaps trials:
        # counting the reviews as "studies" would misstate what a funnel plot would rest on.
        return CertaintyStep("publication-bias", 0, "the estimate is a review's pooled result "
                             "whose number of trials is not reported, and the reviews' own "
                             "small-study analyses are not in the records, so no test could be "
                             "run; not rated down without other signs (GRADE 5)")
    k = max([main.k or 1] if main else [1])
    k = max(k, len({i.study for i in body}))
    if k < MIN_STUDIES_FOR_SMALL_STUDY_TESTS:
        return CertaintyStep("publication-bias", 0, f"not assessable with {k} "
                             f"{'study' if k == 1 else 'studies'}: funnel-plot "
                             f"tests need {MIN_STUDIES_FOR_SMALL_STUDY_TESTS} or more (Cochrane "
                             "Handbook 13.3.5.4); not rated down without other signs (GRADE 5)")
    return CertaintyStep("publication-bias", 0, f"{k} studies; the study-level data needed for a "
                         "funnel plot are not in the records, so no test was run (GRADE 5)")
