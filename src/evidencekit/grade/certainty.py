"""GRADE-style certainty of the evidence for one review question, with every step recorded.

A question's body of evidence is the set of study results its ``evidence`` list points to. The
rating starts at *high* when randomised comparisons (or a review's pooled result of trials) inform
it and at *low* otherwise, then each GRADE domain moves it down (risk of bias, inconsistency,
indirectness, imprecision, publication bias) or, for non-randomised bodies only, up (large effect,
dose-response). Each move is a :class:`CertaintyStep` with its reason, so a clinician sees why and
can override a domain with a recorded reason of their own.

Where the results are p-values or words only there is nothing to pool; the direction of effect is
synthesised by vote counting as the SWiM guideline describes, and that caps the certainty at *low*.

Notes
-----
Sources: GRADE Handbook (Schünemann et al. 2013), sections 5.1 (start), 5.2.1-5.2.5 (rating down),
5.3 (rating up); Guyatt et al. 2011, J Clin Epidemiol 64: GRADE 3 (rating quality), 4 (risk of bias),
6 (imprecision), 7 (inconsistency), 8 (indirectness), 5 (publication bias), 9 (rating up); Cochrane
Handbook v6.4 ch. 14 (completing summary of findings tables and grading certainty) and 12.2.2.1
(vote counting based on direction of effect); Campbell et al. 2020, BMJ 368:l6890 (SWiM).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, NamedTuple

from ..vocab import CERTAINTY_LEVELS, PROPORTION_MEASURES, RATIO_MEASURES
from ..errors import InputError
from ..stats.distributions import critical_value
from ..evidence.records import (
    RANDOMISED_DESIGNS, ArmSummaryResult, EffectEstimate, NarrativeResult, ProportionResult,
    PValueResult, Question, Study,
)

__all__ = [
    "CERTAINTY_LEVELS", "DOMAINS", "OPTIMAL_INFORMATION_SIZE", "CertaintyRating", "CertaintyStep",
    "EffectSummary", "EvidenceItem", "FEW_STUDIES_FOR_POOLED_FREQUENCY", "FREQUENCY_BANDS",
    "frequency_band", "level_index", "rate_certainty", "rate_all",
]


#: Domains a step can belong to. "start" and "synthesis" are rules, not judgements; the rest are
#: GRADE's five reasons to rate down and the two upgrades that can apply here.
DOMAINS = ("risk-of-bias", "inconsistency", "indirectness", "imprecision", "publication-bias",
           "large-effect", "dose-response", "synthesis")

#: Domains a clinician may override (GRADE judgements). The start and the synthesis cap are rules
#: that follow from the study designs and from what was reported, so they are not overridable.
OVERRIDABLE = DOMAINS[:-1]

#: Total participants below which a continuous outcome fails the optimal information size rule of
#: thumb (Guyatt 2011, GRADE 6, section 5: "a total of 400 patients" for continuous outcomes,
#: roughly what a single adequately powered trial for a small-to-moderate SMD of 0.2-0.3 needs).
OPTIMAL_INFORMATION_SIZE = 400

#: Share of the body's weight that must carry a concern before a domain is rated down: GRADE rates
#: down when the concern applies to the studies that provide most of the information (Guyatt 2011,
#: GRADE 4 section 6 and GRADE 8 section 3), not when a minority is affected.
MAJORITY = 0.5

#: I² above which pooled results are called inconsistent (Cochrane Handbook 10.10.2: 50-90 %
#: "may represent substantial heterogeneity"; GRADE 7 uses the same reading).
I2_SUBSTANTIAL = 50.0

#: Share of studies that must agree in direction for a body to count as consistent. GRADE 7 asks
#: whether results vary more than chance and the chosen comparators explain; with direction-only
#: data, our rule of thumb is that fewer than two in three pointing the same way is inconsistent.
CONSISTENT_SHARE = 2 / 3

#: Number of studies below which funnel-plot tests lack power (Cochrane Handbook 13.3.5.4).
MIN_STUDIES_FOR_SMALL_STUDY_TESTS = 10

#: Ratio thresholds for a large effect (Guyatt 2011, GRADE 9: RR > 2 or < 0.5 up one level,
#: RR > 5 or < 0.2 up two levels).
LARGE_RATIO, VERY_LARGE_RATIO = 2.0, 5.0

#: Appreciable relative effect for ratio measures when a question gives none (Guyatt 2011,
#: GRADE 6, section 4: "a relative risk reduction or increase greater than 25 %").
RATIO_APPRECIABLE = 1.25


#: I² from which heterogeneity may be "considerable" (Cochrane Handbook 10.10.2: 75-100 %).
I2_CONSIDERABLE = 75.0

#: Egger's test p-value below which funnel asymmetry is taken as a sign of small-study effects
#: (Egger et al. 1997 used 0.10; Cochrane Handbook 13.3.5.4).
EGGER_ALPHA = 0.10

#: Relative risk reduction for the optimal information size of a dichotomous outcome (GRADE 6,
#: section 5: "a relative risk reduction of 25 %"), with two-sided alpha 0.05 and power 0.80.
OIS_RRR, OIS_ALPHA, OIS_POWER = 0.25, 0.05, 0.80

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


def few_study_frequency(main) -> bool:
    """Whether ``main`` is a pooled single-group proportion from fewer than
    :data:`FEW_STUDIES_FOR_POOLED_FREQUENCY` studies (judged study by study, not pooled)."""
    return (main is not None and main.measure in PROPORTION_MEASURES and main.source == "meta-analysis"
            and (main.k or 0) < FEW_STUDIES_FOR_POOLED_FREQUENCY)


def level_index(level: str) -> int:
    """Index of a certainty level in :data:`CERTAINTY_LEVELS` (0 = very low ... 3 = high).

    "no evidence" (a comparison no study answers, which GRADE gives no level) allows no more
    than the weakest wording, so it shares index 0.
    """
    if level == "no evidence":
        return 0
    try:
        return CERTAINTY_LEVELS.index(level)
    except ValueError:
        raise InputError(f"unknown certainty level {level!r}; use one of "
                         f"{', '.join(CERTAINTY_LEVELS)}") from None


# ---------------------------------------------------------------------------------------------
# result types


@dataclass(frozen=True)
class CertaintyStep:
    """One move of the rating: a domain, a change in levels (0 = considered, no change), why."""

    domain: str
    change: int
    reason: str
    override: bool = False

    def __post_init__(self) -> None:
        if self.domain not in DOMAINS:
            raise InputError(f"unknown certainty domain {self.domain!r}; use one of "
                             f"{', '.join(DOMAINS)}")
        if not self.reason or not self.reason.strip():
            raise InputError(f"a certainty step ({self.domain}) needs a reason")


@dataclass(frozen=True)
class EvidenceItem:
    """One study result (or a whole study) as it enters a question's body of evidence.

    ``role`` says how it is used: ``estimate`` (an effect with a CI), ``direction`` (a p-value or
    words: direction only), ``within-group`` (change inside one group: not evidence of an effect),
    ``no-data`` (a study without usable results, e.g. a protocol or a narrative review).
    ``benefit`` and its CI are on the "benefit" scale: positive means better for the patient.
    """

    study: str
    result: str | None
    design: str
    role: str
    direction: str
    contrast: str | None = None
    measure: str | None = None
    estimate: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    benefit: float | None = None
    benefit_low: float | None = None
    benefit_high: float | None = None
    n: int | None = None
    k: int | None = None
    scale: str | None = None
    instrument: str | None = None
    domain: str | None = None
    time_point: str | None = None
    indirect: str | None = None
    clinically_important: bool | None = None
    risk_of_bias: str | None = None
    result_n: int | None = None  # participants in this result itself (not the whole study)
    #: +1 when a larger estimate is better for the patient, -1 when a smaller one is (the sign
    #: that maps ``estimate`` onto ``benefit``); None when the item has no estimate.
    sign: int | None = None
    #: Effect size and sampling variance on the analysis scale (log for ratios, logit for PLO),
    #: computed from the record's data by :func:`evidencekit.stats.synthesis.study_effect`.
    yi: float | None = None
    vi: float | None = None
    control_events: int | None = None
    control_total: int | None = None
    corrected: bool = False
    #: True when the CI is the one the source prints (an effect estimate), not computed here.
    printed_ci: bool = False
    #: Events and total of a single-group proportion as recorded (no continuity correction).
    events: int | None = None
    total: int | None = None

    @property
    def record(self) -> str:
        """``study#result``, or ``study`` for study-level evidence."""
        return f"{self.study}#{self.result}" if self.result else self.study

    @property
    def supports_benefit(self) -> bool:
        """True when this item, read honestly, points to a worthwhile benefit.

        A statistically significant result that its authors (or the question) judge not clinically
        important is not support for a benefit.
        """
        return (self.role in ("estimate", "direction") and self.direction == "benefit"
                and self.clinically_important is not False)


class EffectSummary(NamedTuple):
    """The estimate a question's claim rests on, on the benefit scale (positive = better)."""

    measure: str
    estimate: float
    ci_low: float | None
    ci_high: float | None
    benefit: float
    benefit_low: float | None
    benefit_high: float | None
    threshold: float | None
    source: str  # "review-pooled", "meta-analysis" or "single-study"
    records: tuple[str, ...]
    k: int | None
    n: int | None
    scale: str | None
    instrument: str | None
    domain: str | None
    i2: float | None = None
    #: False when the estimate is on a scale the records do not state (e.g. a review abstract's
    #: bare "MD -2.31"), so it cannot be compared with the question's important threshold.
    scale_stated: bool = True
    tau2: float | None = None
    pi_low: float | None = None      # natural scale
    pi_high: float | None = None
    method: str | None = None        # tau² estimator ("REML"), None for one study
    ci_method: str | None = None     # "hksj" (k >= 2) or "wald"
    weights: tuple[float, ...] = ()  # percent, one per record
    yi: tuple[float, ...] = ()       # analysis scale, one per record
    vi: tuple[float, ...] = ()
    #: Median comparator-group risk of the included trials (dichotomous data), for absolute
    #: effects; None when the records give no comparator events.
    control_risk: float | None = None
    #: Benefit-scale threshold the inconsistency and imprecision rules used (0 when none).
    pi_benefit: tuple[float, float] | None = None
    #: +1 when a larger value on the analysis scale is better, -1 when a smaller one is.
    sign: int = 1


@dataclass(frozen=True)
class CertaintyRating:
    """GRADE-style rating of one question's body of evidence.

    Attributes
    ----------
    question, title
        The question's id and title.
    start, level
        Starting level (from the study designs) and final level, both in :data:`CERTAINTY_LEVELS`.
    steps
        Every move from start to level, in order, each with its reason.
    direction
        ``benefit``, ``no-difference``, ``harm``, ``unclear`` or ``no-evidence``.
    synthesis
        How the body was synthesised: ``review-pooled``, ``meta-analysis``, ``single-study``,
        ``vote-counting`` or ``none``.
    main
        The estimate the claim rests on (``None`` without one).
    items
        The body of evidence, one item per result.
    notes
        What else a reader should know (double counting avoided, studies left out and why).
    """

    question: str
    title: str
    kind: str
    start: str
    level: str
    steps: tuple[CertaintyStep, ...]
    direction: str
    synthesis: str
    main: EffectSummary | None = None
    items: tuple[EvidenceItem, ...] = ()
    notes: tuple[str, ...] = ()
    votes: Mapping[str, int] = field(default_factory=dict)

    @property
    def index(self) -> int:
        """Strength of the level, 0 (very low) to 3 (high)."""
        return level_index(self.level)

    def used_items(self) -> tuple[EvidenceItem, ...]:
        """Items that inform the direction or size of the effect."""
        return tuple(i for i in self.items if i.role in ("estimate", "direction"))

    def total_n(self) -> int | None:
        """Participants in the body, counting each study once (largest n it reports)."""
        per_study: dict[str, int] = {}
        for item in self.used_items():
            if item.n:
                per_study[item.study] = max(per_study.get(item.study, 0), item.n)
        return sum(per_study.values()) if per_study else None

    def n_complete(self) -> bool:
        """True when every study in the body reports its number of participants."""
        used = self.used_items()
        return bool(used) and all(
            any(i.n for i in used if i.study == s) for s in {i.study for i in used})

    def reasons(self) -> list[str]:
        """The steps as short strings, e.g. ``'imprecision -1: ...'``."""
        return [f"{s.domain} {s.change:+d}{' (override)' if s.override else ''}: {s.reason}"
                for s in self.steps]

    def summary(self) -> str:
        """A few lines for people."""
        lines = [f"{self.question}: {self.level} (start {self.start}; direction {self.direction}; "
                 f"synthesis {self.synthesis})"]
        if self.main is not None:
            m = self.main
            ci = ("" if m.ci_low is None else f" ({m.ci_low:g} to {m.ci_high:g})")
            lines.append(f"  main estimate: {m.measure} {m.estimate:g}{ci} [{m.source}; "
                         f"{', '.join(m.records)}]")
        lines += [f"  {r}" for r in self.reasons()]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def to_frame(self):
        """One row per step: domain, change, reason, override (plus the question and level)."""
        import pandas as pd

        rows = [{"question": self.question, "domain": "start", "change": 0,
                 "reason": f"start at {self.start}", "override": False, "level": self.level}]
        rows += [{"question": self.question, "domain": s.domain, "change": s.change,
                  "reason": s.reason, "override": s.override, "level": self.level}
                 for s in self.steps]
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question, "start": self.start, "level": self.level,
            "direction": self.direction, "synthesis": self.synthesis,
            "steps": [{"domain": s.domain, "change": s.change, "reason": s.reason,
                       "override": s.override} for s in self.steps],
            "main": None if self.main is None else self.main._asdict(),
            "notes": list(self.notes),
        }


# ---------------------------------------------------------------------------------------------
# gathering the body of evidence


def _results_for(question: Question, study: Study, wanted: tuple[str, ...]) -> list:
    if wanted:
        return [study.result(r) for r in wanted]
    if question.outcome_domains:
        return [r for r in study.results
                if study.outcome(r.outcome).domain in question.outcome_domains]
    return list(study.results)


def _range_top(scale: str | None) -> float | None:
    """Top of a '0-100' style range in a scale description (None when there is none)."""
    if not scale:
        return None
    m = re.search(r"\b0\s*[-–to]+\s*(\d+(?:\.\d+)?)\b", scale)
    return float(m.group(1)) if m else None


def _benefit_sign(better: str | None, direction: str, estimate: float) -> int:
    """+1 when a larger estimate is better for the patient, -1 when smaller is."""
    if better == "lower":
        return -1
    if better == "higher":
        return 1
    # No stated direction: trust the recorded reading of the result.
    if direction == "benefit":
        return 1 if estimate >= 0 else -1
    if direction == "harm":
        return -1 if estimate >= 0 else 1
    return 1


def _item_from_result(result, study: Study, indirect: str | None,
                      question: Question | None = None) -> EvidenceItem:
    """One result as an evidence item; its effect computed from its data through the engine."""
    from ..scales import to_natural as natural
    from ..stats.synthesis import data_direction, study_effect

    outcome = study.outcome(result.outcome)
    better = outcome.better or (question.better if question is not None else None)
    base = dict(study=study.id, result=result.id, design=study.design,
                direction=result.direction or "unclear",
                contrast=result.contrast, scale=outcome.scale, instrument=outcome.instrument,
                domain=outcome.domain, time_point=result.time_point, indirect=indirect,
                clinically_important=result.clinically_important,
                risk_of_bias=study.risk_of_bias.overall, n=study.n)
    if result.contrast == "within-group":
        return EvidenceItem(role="within-group", **base)
    measure = question.measure if question is not None else None
    effect = study_effect(result, study, measure)
    if effect is None and measure is not None and isinstance(result, EffectEstimate):
        effect = study_effect(result, study, None)  # a printed estimate in its own measure
    if effect is None:
        return EvidenceItem(role="direction", **base)
    m, yi, vi = effect.measure, effect.yi, effect.vi
    z = float(critical_value(95.0))
    lo, hi = yi - z * math.sqrt(vi), yi + z * math.sqrt(vi)
    if isinstance(result, EffectEstimate) and result.ci_low is not None:
        est_n, lo_n, hi_n = result.estimate, result.ci_low, result.ci_high
        if m in RATIO_MEASURES:
            lo, hi = math.log(lo_n), math.log(hi_n)
        else:
            lo, hi = lo_n, hi_n
    else:
        est_n, lo_n, hi_n = natural(m, yi), natural(m, lo), natural(m, hi)
    if isinstance(result, ProportionResult) or m in PROPORTION_MEASURES:
        sign = 1
        base["direction"] = "unclear"  # one group: no direction of effect exists
    else:
        sign = _benefit_sign(better, result.direction or "unclear", yi)
        derived = data_direction(yi, vi, better) if better else None
        if derived is not None and not (isinstance(result, EffectEstimate) and result.direction
                                        and result.ci_low is None):
            base["direction"] = derived
    blo, bhi = sorted((lo * sign, hi * sign))
    base["n"] = effect.n or (result.n_participants if isinstance(result, EffectEstimate)
                             else None) or study.n
    return EvidenceItem(role="estimate", measure=m, estimate=est_n, ci_low=lo_n, ci_high=hi_n,
                        benefit=yi * sign, benefit_low=blo, benefit_high=bhi,
                        result_n=(result.n_participants if isinstance(result, EffectEstimate)
                                  else effect.n),
                        k=result.k_studies if isinstance(result, EffectEstimate) else None,
                        sign=sign, yi=yi, vi=vi, control_events=effect.control_events,
                        control_total=effect.control_total, corrected=effect.corrected,
                        printed_ci=isinstance(result, EffectEstimate) and result.ci_low is not None,
                        events=result.events if isinstance(result, ProportionResult) else None,
                        total=result.total if isinstance(result, ProportionResult) else None,
                        **base)


def _gather(question: Question, library) -> tuple[list[EvidenceItem], list[str]]:
    items: list[EvidenceItem] = []
    notes: list[str] = []
    for ev in question.evidence:
        study = library.study(ev.study)
        indirect = ev.indirect
        if study.design == "animal-study" and not indirect:
            indirect = "animal study, not people"
        if study.design in ("narrative-review", "protocol"):
            # Expert opinion and plans are not evidence of an effect (GRADE Handbook 5.1 rates
            # bodies of study results; opinion is not rated). They are still cited and their
            # caveats carried.
            items.append(EvidenceItem(study=study.id, result=None, design=study.design,
                                      role="no-data", direction="unclear",
                                      risk_of_bias=study.risk_of_bias.overall))
            continue
        results = _results_for(question, study, ev.results)
        if not results:
            items.append(EvidenceItem(study=study.id, result=None, design=study.design,
                                      role="no-data", direction="unclear",
                                      risk_of_bias=study.risk_of_bias.overall))
            notes.append(f"{study.id}: no result for this question's outcomes")
            continue
        for result in results:
            ind = indirect
            if result.contrast == "treated-vs-untreated-side" and not ind:
                ind = "the untreated opposite side served as control"
            items.append(_item_from_result(result, study, ind, question))
    return items, notes


def _study_links(library) -> dict[str, set[str]]:
    """Review -> included trials, from both ends of the ``includes``/``included-in`` links."""
    included: dict[str, set[str]] = {}
    for sid, study in library.studies.items():
        for result in study.results:  # a pooled result that names its trials
            if isinstance(result, EffectEstimate) and result.includes:
                included.setdefault(sid, set()).update(result.includes)
        for link in study.links:
            if link.relation == "includes":
                included.setdefault(sid, set()).add(link.target)
            elif link.relation == "included-in":
                included.setdefault(link.target, set()).add(sid)
    return included


# ---------------------------------------------------------------------------------------------
# the main estimate


def _threshold_for(question: Question, item: EvidenceItem) -> float | None:
    """The important-effect threshold on the item's scale, or None when scales do not match.

    Ratios are compared on the log scale; without a question threshold GRADE 6's default of a
    25 % relative change (RR 0.75 or 1.25) marks an appreciable benefit or harm.
    """
    ie = question.important_effect
    if item.measure in RATIO_MEASURES:
        if ie is not None and ("ratio" in ie.scale.lower() or item.measure in ie.scale.upper()
                               .replace("(", " ").replace(")", " ").split()) and ie.value != 1:
            return abs(math.log(ie.value))
        return math.log(RATIO_APPRECIABLE)
    if ie is None or item.measure is None or item.measure in PROPORTION_MEASURES:
        return None
    if item.measure == "RD":
        return ie.value if "risk difference" in ie.scale.lower() or "RD" in ie.scale else None
    if item.measure == "SMD":
        if ie.smd is not None:
            return ie.smd
        return ie.value if "SMD" in ie.scale.upper() else None
    if item.measure in RATIO_MEASURES:
        return None
    if "SMD" in ie.scale.upper():
        return None
    if not _scale_stated(item):
        # Review abstracts often print "MD -2.31" with no scale. A threshold of 1 point on a 0-10
        # scale would make it important; on a 0-100 scale it would be trivial. The scale is not
        # assumed: the estimate is not compared with the threshold, and imprecision says so.
        return None
    top_q, top_i = _range_top(ie.scale), _range_top(item.scale)
    if top_q and top_i:  # same instrument family on another range: rescale (0-10 vs 0-100)
        return ie.value * top_i / top_q
    if top_q or top_i:  # one side gives a range, the other does not: not comparable
        return None
    # Neither gives a range: comparable only in the same unit ("degrees", "kPa").
    unit = (item.scale or "").split()[0].lower()
    return ie.value if unit and unit in ie.scale.lower() else None


_UNSTATED = re.compile(r"not stated|not named|not reported|unknown|scale not", re.I)


def _scale_stated(item: EvidenceItem) -> bool:
    """Whether the record states the scale of an absolute (MD-type) estimate."""
    if item.measure in RATIO_MEASURES or item.measure in PROPORTION_MEASURES or \
            item.measure in ("SMD", "RD", "GEN"):
        return True
    return bool(item.scale) and not _UNSTATED.search(item.scale or "")


def _choose_main(question: Question, items: list[EvidenceItem], library,
                 notes: list[str]) -> EffectSummary | None:
    estimates = [i for i in items if i.role == "estimate"]
    if not estimates:
        return None
    reviews = [i for i in estimates if i.contrast == "review-pooled"]
    if reviews:
        # Overlapping reviews share trials, so they are never pooled with each other or with
        # their trials (double counting). The most informative one carries the estimate: most
        # studies pooled for that result, then most participants in it; on a tie (abstracts often
        # give neither) the one the question lists first, which questions.yaml puts first because
        # its comparator matches the question best.
        order = {i.record: n for n, i in enumerate(reviews)}
        if all(i.k for i in reviews):
            best = max(reviews, key=lambda i: (i.k, i.result_n or 0, -order[i.record]))
        else:  # an unreported k is not a small k: fall back to the question's order
            best = reviews[0]
        others = [r.record for r in reviews if r is not best]
        if others:
            notes.append(f"review results not pooled with each other (overlapping trials, double "
                         f"counting); {best.record} carries the estimate, "
                         f"{', '.join(others)} checked for consistency")
        trials = [i.record for i in estimates if i.contrast != "review-pooled"]
        if trials:
            notes.append(f"trial results ({', '.join(trials)}) not pooled with review results "
                         f"(a review's pooled estimate may include them: double counting)")
        return _summary(best, "review-pooled", question)
    # Trial-level estimates: one measure per analysis (and one scale for mean differences), the
    # group with most studies; the others are named as left out.
    groups: dict[tuple, list[EvidenceItem]] = {}
    for i in estimates:
        key = (i.measure, i.domain, i.scale if i.measure == "MD" else None, i.sign)
        groups.setdefault(key, []).append(i)
    best_key, best_group = max(groups.items(), key=lambda kv: (
        len({i.study for i in kv[1]}), sum(i.n or 0 for i in kv[1])))
    for key, group in groups.items():
        if key != best_key:
            notes.append(f"left out of the analysis: {', '.join(i.record for i in group)} "
                         f"({key[0]}{' on ' + key[2] if key[2] else ''}; one measure and scale "
                         f"per analysis, and the pooled one, {best_key[0]}, has more studies)")
    per_study: dict[str, EvidenceItem] = {}
    for i in best_group:  # one result per study: the first listed (the question's chosen one)
        if i.study in per_study:
            notes.append(f"{i.record} left out: {per_study[i.study].record} already represents "
                         f"{i.study} in this analysis (a study is counted once)")
        per_study.setdefault(i.study, i)
    chosen = list(per_study.values())
    if len(chosen) >= 2:
        pooled = _pool(chosen, question, notes)
        if pooled is not None:
            return pooled
    return _summary(max(chosen, key=lambda i: i.n or 0), "single-study", question)


def _summary(item: EvidenceItem, source: str, question: Question) -> EffectSummary:
    # A review's pooled result: k and participants are that analysis's own when printed, and
    # unknown otherwise. The review's total n spans all its comparisons (Liu 2015: 839 patients
    # in 20 trials), so it says nothing about the information behind one pooled result, and an
    # unreported k is not k = 1.
    if source == "review-pooled":
        k, n = item.k, item.result_n
    else:
        k, n = item.k or 1, item.n
    return EffectSummary(measure=item.measure, estimate=item.estimate, ci_low=item.ci_low,
                         ci_high=item.ci_high, benefit=item.benefit, benefit_low=item.benefit_low,
                         benefit_high=item.benefit_high,
                         threshold=_threshold_for(question, item), source=source,
                         records=(item.record,), k=k, n=n, scale=item.scale,
                         instrument=item.instrument, domain=item.domain,
                         scale_stated=_scale_stated(item),
                         method=None if source == "review-pooled" else "single study",
                         ci_method="as reported" if item.printed_ci or item.yi is None
                         or source == "review-pooled" else "wald",
                         weights=(100.0,), yi=() if item.yi is None else (item.yi,),
                         vi=() if item.vi is None else (item.vi,),
                         control_risk=_median_control_risk([item]), sign=item.sign or 1)


def _median_control_risk(items: list[EvidenceItem]) -> float | None:
    """Median comparator-group risk of the trials (GRADE summary-of-findings default)."""
    risks = sorted(i.control_events / i.control_total for i in items
                   if i.control_events is not None and i.control_total)
    if not risks:
        return None
    mid = len(risks) // 2
    return risks[mid] if len(risks) % 2 else (risks[mid - 1] + risks[mid]) / 2


def _pool(chosen: list[EvidenceItem], question: Question, notes: list[str]) -> EffectSummary | None:
    """Pool one measure's results with the engine: REML, HKSJ interval, prediction interval."""
    from ..stats.pooling import pool
    from ..scales import to_natural as natural

    first = chosen[0]
    sign = first.sign or 1
    yi = [i.yi for i in chosen]
    vi = [i.vi for i in chosen]
    res = pool(yi, vi, method="REML", ci="hksj", measure=first.measure,
               labels=[i.record for i in chosen])
    m = first.measure
    est, lo, hi = float(res.estimate), float(res.ci_low), float(res.ci_high)
    pi_lo, pi_hi = float(res.pi_low), float(res.pi_high)
    notes.append(f"{len(chosen)} studies pooled ({m}, REML tau², Hartung-Knapp-Sidik-Jonkman CI, "
                 f"prediction interval): {', '.join(i.record for i in chosen)}")
    if any(i.corrected for i in chosen):
        notes.append("0.5 added to every cell of tables with a zero cell (metafor's default): "
                     + ", ".join(i.record for i in chosen if i.corrected))
    participants = sum(i.n or 0 for i in chosen) or None
    b = sorted((lo * sign, hi * sign))
    pb = sorted((pi_lo * sign, pi_hi * sign)) if math.isfinite(pi_lo) else None
    return EffectSummary(measure=m, estimate=natural(m, est), ci_low=natural(m, lo),
                         ci_high=natural(m, hi), benefit=est * sign, benefit_low=b[0],
                         benefit_high=b[1], threshold=_threshold_for(question, first),
                         source="meta-analysis", records=tuple(i.record for i in chosen),
                         k=len(chosen), n=participants, scale=first.scale,
                         instrument=first.instrument, domain=first.domain,
                         i2=float(res.i2), scale_stated=_scale_stated(first),
                         tau2=float(res.tau2), pi_low=natural(m, pi_lo),
                         pi_high=natural(m, pi_hi), method=res.method, ci_method=res.ci_method,
                         weights=tuple(float(w) for w in res.weight), yi=tuple(yi),
                         vi=tuple(vi), control_risk=_median_control_risk(chosen),
                         pi_benefit=tuple(pb) if pb else None, sign=sign)


# ---------------------------------------------------------------------------------------------
# the domains


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


def _share(items: list[EvidenceItem], pred) -> float:
    w = _weights(items)
    total = sum(w.values())
    hit = sum(w[s] for s in {i.study for i in items if pred(i)})
    return hit / total if total else 0.0


def _analysis_share(main: EffectSummary | None, concerns) -> float | None:
    """Share of the pooled analysis's weight carried by studies in ``concerns`` (None: no
    pooled analysis)."""
    if main is None or main.source != "meta-analysis" or not main.weights:
        return None
    total = sum(main.weights)
    hit = sum(w for r, w in zip(main.records, main.weights) if r.split("#")[0] in concerns)
    return hit / total if total else None


def _risk_of_bias(body: list[EvidenceItem], main: EffectSummary | None = None) -> CertaintyStep:
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


def _votes(body: list[EvidenceItem], excluded: set[str]) -> dict[str, int]:
    by_study: dict[str, list[EvidenceItem]] = {}
    for i in body:
        if i.study not in excluded:
            by_study.setdefault(i.study, []).append(i)
    votes = {"benefit": 0, "harm": 0, "none": 0, "mixed": 0}
    for items in by_study.values():
        votes[_study_direction(items)] += 1
    return votes


def _sign_test_p(benefit: int, harm: int) -> float | None:
    """Two-sided binomial (sign) test of benefit vs harm votes (Cochrane Handbook 12.4.2.3)."""
    n = benefit + harm
    if n == 0:
        return None
    k = min(benefit, harm)
    tail = sum(math.comb(n, j) for j in range(k + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def _inconsistency(body: list[EvidenceItem], main: EffectSummary | None,
                   votes: dict[str, int]) -> CertaintyStep:
    """Inconsistency from the numbers: I², tau², the prediction interval and where the studies'
    point estimates sit against the threshold (GRADE 7; Cochrane Handbook 10.10.2)."""
    n_studies = len({i.study for i in body})
    if n_studies <= 1 or (main is not None and main.source != "meta-analysis" and main.k == 1
                          and n_studies <= 1):
        return CertaintyStep("inconsistency", 0, "a single study: consistency cannot be judged, "
                             "so the domain is not rated down (GRADE Handbook 5.2.2)")
    if few_study_frequency(main):
        return _frequency_spread(body, main)
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
                (y * sign + float(critical_value(95.0)) * math.sqrt(v)) < 0
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


def _frequency_items(body: list[EvidenceItem], main: EffectSummary) -> list[EvidenceItem]:
    records = set(main.records)
    return [i for i in body if i.record in records and i.estimate is not None
            and i.ci_low is not None and i.ci_high is not None]


def _frequency_spread(body: list[EvidenceItem], main: EffectSummary) -> CertaintyStep:
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


def _frequency_precision(body: list[EvidenceItem], main: EffectSummary) -> CertaintyStep:
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


def _indirectness(body: list[EvidenceItem], question: Question) -> CertaintyStep:
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


def _imprecision(main: EffectSummary | None, body: list[EvidenceItem],
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
        return _frequency_precision(body, main)
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


def _publication_bias(body: list[EvidenceItem], main: EffectSummary | None) -> CertaintyStep:
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


def _upgrades(start_index: int, main: EffectSummary | None,
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


def _direction(main: EffectSummary | None, votes: dict[str, int]) -> str:
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


# ---------------------------------------------------------------------------------------------


def _normalise_overrides(overrides: Mapping[str, Any] | None) -> dict[str, tuple[int, str]]:
    out: dict[str, tuple[int, str]] = {}
    for key, value in (overrides or {}).items():
        domain = str(key).strip().lower().replace("_", "-").replace(" ", "-")
        if domain not in OVERRIDABLE:
            raise InputError(f"cannot override {key!r}: choose one of {', '.join(OVERRIDABLE)}")
        try:
            change, reason = value
        except (TypeError, ValueError):
            raise InputError(f"override for {key!r} must be (change, reason), e.g. "
                             "(-1, 'CI is wide for patients')") from None
        if not isinstance(change, int) or isinstance(change, bool) or not -2 <= change <= 2:
            raise InputError(f"override for {key!r}: change must be an integer from -2 to 2")
        if not isinstance(reason, str) or len(reason.strip()) < 3:
            raise InputError(f"override for {key!r} needs a reason: say why the clinician "
                             "disagrees")
        out[domain] = (change, reason.strip())
    return out


def rate_certainty(question: Question, library, overrides: Mapping[str, Any] | None = None
                   ) -> CertaintyRating:
    """Rate the certainty of a question's body of evidence, GRADE style.

    Parameters
    ----------
    question
        The question (its ``evidence`` list points to studies and result ids).
    library
        Anything with ``.study(key)`` and ``.studies`` (a :class:`~evidencekit.evidence.library.Library`).
    overrides
        ``{domain: (change, reason)}``, a clinician's judgement replacing the computed step of a
        domain (``"imprecision"``, ``"risk-of-bias"``, ...). The reason is required and recorded.

    Returns
    -------
    CertaintyRating

    Notes
    -----
    Rules, in order, with their sources:

    1. Start high when randomised comparisons (randomised or within-subject trials, or a
       review's pooled result of trials) inform the question, else low (GRADE Handbook 5.1;
       Guyatt 2011 GRADE 3). Within-group changes are never evidence of an effect (they include
       natural recovery, regression to the mean and placebo responses).
    2. Risk of bias: down 1 when studies giving most of the information (by participants) are
       at high or unclear risk, down 2 when every study is at high risk (GRADE 4).
    3. Inconsistency: down 1 when I² >= 50 % in our pooling or when studies disagree in
       direction (GRADE 7; Cochrane Handbook 10.10.2).
    4. Indirectness: down 1 when most information is indirect (a population, intervention or
       comparator other than the question's, an untreated opposite side as control), down 2 for
       animal-only evidence on claims about patients (GRADE 8).
    5. Imprecision: down 1 when the CI includes no effect or straddles the important threshold,
       or the total is below the optimal information size (~400, continuous outcomes); down 2
       when the CI includes important benefit and important harm, or includes no effect with a
       small total (GRADE 6).
    6. Publication bias: judged, not tested, with fewer than 10 studies (Cochrane Handbook
       13.3.5.4; GRADE 5).
    7. Rating up (large effect, dose-response) only for non-randomised bodies (GRADE 9).
    8. Synthesis cap: p-values or narrative only means vote counting on the direction of effect
       (SWiM, Campbell 2020; Cochrane Handbook 12.2.2.1), which cannot support more than low
       certainty; mechanism questions answered by animal work and narrative reviews are very
       low for claims about patients.
    """
    question, overrides = _with_question_decisions(question, library, overrides)
    over = _normalise_overrides(overrides)
    items, notes = _gather(question, library)
    within = [i for i in items if i.role == "within-group"]
    if within:
        notes.append("within-group changes are not evidence of an effect (they include natural "
                     f"recovery, regression to the mean and placebo): {', '.join(i.record for i in within)}")
    body = [i for i in items if i.role in ("estimate", "direction")]
    if not body:
        reason = ("no study in the library reports a comparison for this question"
                  + ("; only within-group changes were found" if within else ""))
        return CertaintyRating(question=question.id, title=question.title, kind=question.kind,
                               start="very low", level="very low",
                               steps=(CertaintyStep("synthesis", 0, reason),),
                               direction="no-evidence", synthesis="none", items=tuple(items),
                               notes=tuple(notes))

    main = _choose_main(question, items, library, notes)
    if (main is not None and not main.scale_stated and question.important_effect is not None):
        notes.append(f"{main.records[0]}: the scale of the {main.measure} is not stated, so it is "
                     f"not compared with the important threshold "
                     f"({question.important_effect.scale}); no scale is assumed")
    # Studies inside the chosen review are represented by it: do not count them twice.
    included = _study_links(library)
    inside: set[str] = set()
    if main is not None and main.source == "review-pooled":
        inside = included.get(main.records[0].split("#")[0], set())
        twice = sorted({i.study for i in body} & inside)
        if twice:
            notes.append(f"{', '.join(twice)} included in {main.records[0].split('#')[0]}: "
                         "counted once (through the review)")
    votes = _votes(body, inside)

    randomised = [i for i in body if i.design in RANDOMISED_DESIGNS or i.contrast == "review-pooled"]
    start_index = 3 if randomised else 1
    start_reason = (f"randomised evidence ({', '.join(sorted({i.study for i in randomised}))}): "
                    "start high (GRADE Handbook 5.1)" if randomised else
                    "no randomised comparison: start low (GRADE Handbook 5.1)")
    notes.insert(0, start_reason)

    counted = [i for i in body if i.study not in inside]
    known = {i.study: i.n for i in counted if i.n}
    total_n = sum(max(i.n for i in counted if i.study == s) for s in known) or None
    n_complete = len(known) == len({i.study for i in counted})
    if main is not None and main.n:
        total_n = max(total_n or 0, main.n)
    steps = [_risk_of_bias(body, main), _inconsistency(body, main, votes),
             _indirectness(body, question),
             _imprecision(main, body, total_n, n_complete, question),
             _publication_bias(body, main)]
    steps += _upgrades(start_index, main, steps)

    final: list[CertaintyStep] = []
    for step in steps:
        if step.domain in over:
            change, reason = over[step.domain]
            final.append(CertaintyStep(step.domain, change, f"clinician override: {reason} "
                                       f"(computed {step.change:+d}: {step.reason})", override=True))
        else:
            final.append(step)

    index = start_index + sum(s.change for s in final)
    synthesis = (main.source if main is not None else "vote-counting")
    cap, cap_reason = 3, None
    if main is None:
        p = _sign_test_p(votes["benefit"], votes["harm"])
        cap, cap_reason = 1, (
            f"p-values or words only: synthesised without meta-analysis by vote counting on the "
            f"direction of effect (SWiM, Campbell 2020): {votes['benefit']} of "
            f"{sum(votes.values())} studies favour {question.intervention.strip()}"
            + (f", sign test p = {p:.2g}" if p is not None else "")
            + "; without effect sizes certainty cannot be above low")
    if question.kind == "mechanism" and not any(
            i.design in RANDOMISED_DESIGNS and not i.indirect for i in body):
        cap, cap_reason = 0, ("mechanism claims rest on animal work and narrative reviews, not on "
                              "measurements in patients: very low for claims about patients")
    if cap_reason is not None:
        change = min(0, cap - max(0, min(3, index)))
        final.append(CertaintyStep("synthesis", change, cap_reason))
        index = min(index, cap)
    index = max(0, min(3, index))
    direction = _direction(main, votes)
    if (index == 0 and direction in ("benefit", "harm") and main is not None
            and main.benefit_low is not None and main.benefit_low < 0 < main.benefit_high):
        # Read only from the point estimate of a CI that includes no effect, a direction is not
        # asserted at very low certainty: GRADE 26's very-low statement names none ("the
        # evidence is very uncertain about the effect"), and a reader of the direction field (the
        # audit) must not take it as "the evidence points to harm" (or benefit).
        direction = "unclear"
    return CertaintyRating(question=question.id, title=question.title, kind=question.kind,
                           start=CERTAINTY_LEVELS[start_index], level=CERTAINTY_LEVELS[index],
                           steps=tuple(final), direction=direction,
                           synthesis=synthesis, main=main, items=tuple(items), notes=tuple(notes),
                           votes=dict(votes))


def rate_all(library, overrides: Mapping[str, Mapping[str, Any]] | None = None
             ) -> dict[str, CertaintyRating]:
    """Rate every question in ``library.questions``; ``overrides`` maps question id -> overrides."""
    overrides = overrides or {}
    unknown = set(overrides) - set(library.questions)
    if unknown:
        raise InputError(f"overrides name unknown question(s): {', '.join(sorted(unknown))}")
    return {qid: rate_certainty(q, library, overrides.get(qid))
            for qid, q in library.questions.items()}


def _with_question_decisions(question: Question, library, overrides: Mapping[str, Any] | None):
    """The question's own decisions (questions.yaml ``decisions:``) applied: its excluded studies
    and results left out, its overrides under those passed in (which win, domain by domain)."""
    from .decisions import question_decisions, without_excluded

    decisions = question_decisions(question)
    if not decisions:
        return question, overrides
    passed = _normalise_overrides(overrides)
    merged = {d: v for d, v in decisions.certainty_overrides().items()
              if d not in passed}
    return without_excluded(question, library, decisions), {**merged, **passed}
