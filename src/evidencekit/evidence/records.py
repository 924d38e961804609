"""Typed study records: the shape of the evidence.

A study is modelled the way evidence reviewers read a paper: design, population, arms, outcomes,
results in the forms papers really report them, risk of bias, funding, links to related papers,
and caveats. Every number sits in an object that carries its :class:`Provenance` (source address
and a short verbatim quote), so a number's source is always one step away.

Records are immutable pydantic models. Unknown fields are errors (typos surface at once), numbers
must be finite, and impossible values (SD <= 0, n <= 0, p outside [0, 1], an estimate outside its
own CI) fail on construction. Values a paper does not report are ``None`` (YAML ``null``), never
guessed; :class:`NotReported` entries say what is missing and where it was looked for.

The JSON Schema for editors comes from :func:`json_schema`.
"""
from __future__ import annotations

import math
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..vocab import COMPARATOR_KINDS, RATIO_MEASURES, ComparatorKind, Direction

__all__ = [
    "Arm", "ArmEvents", "Better", "ArmEventsResult", "ArmSummary", "ArmSummaryResult", "Caveat",
    "COMPARATOR_KINDS", "ComparatorKind", "Design", "Domain", "EffectEstimate", "ProportionResult",
    "ImportantEffect", "Link", "NarrativeResult", "NotReported", "Outcome", "PValueResult",
    "Population", "Provenance", "Question", "QuestionEvidence", "Quote", "Result", "RiskOfBias",
    "Study", "json_schema", "ASYMMETRY_TOLERANCE",
]

#: How far (as a share of the CI's width) a point estimate may sit from the middle of its
#: CI (log scale for ratios) before validation looks closer: beyond this share, it warns only when
#: the gap is also larger than rounding of the printed digits can explain
#: (:meth:`EffectEstimate.ci_asymmetry_beyond_rounding`).
ASYMMETRY_TOLERANCE = 0.05

Design = Literal[
    "randomised-trial",
    "within-subject-trial",  # split-body / own-control designs
    "non-randomised-comparison",
    "cohort",
    "case-control",
    "cross-sectional",
    "case-series",
    "systematic-review",
    "narrative-review",
    "animal-study",
    "protocol",
]

#: Designs whose evidence GRADE starts at "high" (randomised comparisons).
RANDOMISED_DESIGNS = frozenset({"randomised-trial", "within-subject-trial"})

#: Outcome domains a review may use when its settings (review.yaml ``outcome_domains``) declare
#: none. A review declares its own open list; validation checks records against it.
DEFAULT_OUTCOME_DOMAINS = (
    "pain", "disability", "range-of-motion", "pressure-pain-threshold", "recovery",
    "adverse-events", "strength", "function", "mechanism", "mortality", "morbidity",
    "quality-of-life", "other",
)

#: An outcome domain: a short lowercase name from the review's declared list.
OutcomeDomain = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$")]

# What was compared: a between-group contrast is evidence of an effect; a within-group change is not
# (it includes natural recovery, regression to the mean and placebo effects).
# "single-group": events or values in one group with no comparison (a case series, a survey).
Contrast = Literal["between-groups", "within-group", "treated-vs-untreated-side", "review-pooled",
                   "single-group"]


class _Record(BaseModel):
    """Base for all records: immutable, no unknown fields, no NaN or infinity."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False,
                              str_strip_whitespace=True)


class Provenance(_Record):
    """Where a number or statement comes from.

    ``source`` is an address (URL) or a location in a document ("Table 3, row 'NDI'"); ``quote`` is a
    short verbatim extract that shows the value. ``inference`` is set when anything in the record
    is the reviewers' reading rather than what the source prints (for example which column is the
    intervention arm); it must say what was inferred and why.
    """

    source: str = Field(min_length=3, description="URL or document location of the value")
    quote: str = Field(min_length=3, description="short verbatim extract showing the value")
    secondary: bool = Field(False, description="true when seen in a secondary source (a review "
                                               "table, a citing page), not the paper itself")
    inference: str | None = Field(None, description="what was inferred, if anything, and why")


class Quote(_Record):
    """A verbatim statement from a paper (e.g. the authors' conclusion)."""

    text: str = Field(min_length=3)
    provenance: Provenance


class NotReported(_Record):
    """A value the sources do not give. Kept so that a gap is visible, never filled in."""

    item: str = Field(min_length=3, description="what is missing, e.g. 'group means and SDs'")
    note: str | None = Field(None, description="where it was looked for")


class Population(_Record):
    description: str
    n: int | None = Field(None, gt=0, description="participants (or animals) enrolled")
    condition: str | None = None
    characteristics: dict[str, str] = Field(
        default_factory=dict, description="the review's declared population characteristics "
                                          "(review.yaml `characteristics`), name -> value")
    age: str | None = None
    sex: str | None = None
    setting: str | None = None
    provenance: Provenance | None = Field(
        None, description="required when n is given")

    @model_validator(mode="after")
    def _number_needs_source(self) -> "Population":
        if self.n is not None and self.provenance is None:
            raise ValueError("population.n is a number and needs a provenance "
                             "(source and verbatim quote)")
        return self


#: Which direction of an outcome is better for patients.
Better = Literal["lower", "higher"]


def _comparator_kind(description: str) -> Any:
    """The optional ``comparator_kind`` of one level of the records. A result's kind is read, first
    found wins, from the result, the question entry, the comparator arm and the question
    (:mod:`evidencekit.grade.comparisons`); null at every level leaves it unspecified."""
    return Field(None, description=description)


class Arm(_Record):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    label: str
    role: Literal["intervention", "comparator", "control-side", "single-group"]
    intervention: str
    sham: bool = Field(False, description="true when the comparator is a sham or placebo")
    comparator_kind: ComparatorKind | None = _comparator_kind(
        "for a comparator arm: what kind of comparison it makes")
    n_randomised: int | None = Field(None, gt=0)
    n_analysed: int | None = Field(None, gt=0)
    provenance: Provenance | None = None

    @model_validator(mode="after")
    def _numbers_need_source(self) -> "Arm":
        if (self.n_randomised is not None or self.n_analysed is not None) and self.provenance is None:
            raise ValueError(f"arm '{self.id}' gives n and needs a provenance")
        if (self.n_randomised is not None and self.n_analysed is not None
                and self.n_analysed > self.n_randomised):
            raise ValueError(f"arm '{self.id}': n_analysed ({self.n_analysed}) exceeds "
                             f"n_randomised ({self.n_randomised})")
        return self


class Outcome(_Record):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    domain: OutcomeDomain
    instrument: str | None = Field(None, description="e.g. 'Neck Disability Index'")
    scale: str | None = Field(None, description="e.g. '0-100', 'kPa', 'degrees'")
    better: Better | None = Field(
        None, description="which direction is better for the patient")
    time_points: tuple[str, ...] = ()


class _ResultBase(_Record):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    outcome: str = Field(description="id of an outcome of this study")
    time_point: str = Field(description="e.g. 'immediately after one session', '6 months'")
    contrast: Contrast
    comparison: str | None = Field(None, description="what was compared, in words")
    comparator_kind: ComparatorKind | None = _comparator_kind(
        "kind of comparison this result makes; null: from the comparator arm, the question entry "
        "or the question")
    direction: Direction | None = Field(
        None, description="only for p-value and narrative results; for data it is derived, and a "
                          "typed direction that contradicts the data is an error")
    clinically_important: bool | None = Field(
        None, description="the authors' or the question's judgement; null when nobody says")
    provenance: Provenance
    note: str | None = None


class ArmSummary(_Record):
    """Mean, SD and n of one arm at one time point (baseline too where given)."""

    arm: str
    mean: float
    sd: float | None = Field(None, gt=0)
    n: int | None = Field(None, gt=0)
    baseline_mean: float | None = None
    baseline_sd: float | None = Field(None, gt=0)
    sd_imputed: str | None = Field(
        None, description="set only when sd is not printed in the source: how it was derived")


class ArmSummaryResult(_ResultBase):
    kind: Literal["arm-summary"] = "arm-summary"
    arms: tuple[ArmSummary, ...] = Field(min_length=1)


class ArmEvents(_Record):
    """Events and the number of people they happened among, in one arm."""

    arm: str
    events: int = Field(ge=0)
    total: int = Field(gt=0)

    @model_validator(mode="after")
    def _events_fit(self) -> "ArmEvents":
        if self.events > self.total:
            raise ValueError(f"arm '{self.arm}': events ({self.events}) exceed the total "
                             f"({self.total})")
        return self


class ArmEventsResult(_ResultBase):
    """Events per arm (a 2x2 table): the data behind RR, OR and RD."""

    kind: Literal["arm-events"] = "arm-events"
    arms: tuple[ArmEvents, ...] = Field(min_length=2)


class ProportionResult(_ResultBase):
    """Events among the people of one group with no comparison group (a case series, a harms
    survey): a proportion, which cannot show that the treatment caused the events."""

    kind: Literal["proportion"] = "proportion"
    events: int = Field(ge=0)
    total: int = Field(gt=0)

    @model_validator(mode="after")
    def _events_fit(self) -> "ProportionResult":
        if self.events > self.total:
            raise ValueError(f"events ({self.events}) exceed the total ({self.total})")
        return self


class EffectEstimate(_ResultBase):
    """A reported effect with its CI or SE, as printed (including review-level pooled results)."""

    kind: Literal["effect-estimate"] = "effect-estimate"
    measure: Literal["MD", "SMD", "RR", "OR", "HR", "ROM", "IRR", "RD", "PR", "GEN", "other"]
    estimate: float
    ci_low: float | None = None
    ci_high: float | None = None
    ci_level: float = Field(0.95, gt=0, lt=1)
    se: float | None = Field(None, gt=0)
    p_value: float | None = Field(None, ge=0, le=1)
    p_relation: Literal["=", "<", "<=", ">", ">="] = Field(
        "=", description="keeps a printed inequality such as 'P<0.001'")
    k_studies: int | None = Field(None, gt=0, description="studies pooled (review results)")
    n_participants: int | None = Field(None, gt=0)
    model: str | None = Field(None, description="pooling model, when the source names it")
    includes: tuple[str, ...] = Field(
        (), description="review results: keys of the trials this pooled result includes, where the "
                        "source says; they are then used through it or directly, never both")

    @model_validator(mode="after")
    def _ci_is_coherent(self) -> "EffectEstimate":
        if (self.ci_low is None) != (self.ci_high is None):
            raise ValueError("give both ci_low and ci_high, or neither")
        if self.ci_low is not None and self.ci_high is not None:
            if self.ci_low > self.ci_high:
                raise ValueError(f"ci_low ({self.ci_low}) is above ci_high ({self.ci_high}); "
                                 "swap them if the source prints them the other way round")
            if not (self.ci_low <= self.estimate <= self.ci_high):
                raise ValueError(f"estimate {self.estimate} lies outside its CI "
                                 f"({self.ci_low} to {self.ci_high}); check the source")
        if self.measure in RATIO_MEASURES:
            for name in ("estimate", "ci_low", "ci_high"):
                value = getattr(self, name)
                if value is not None and value <= 0:
                    raise ValueError(f"{name} of a ratio ({self.measure}) must be > 0, got {value}")
        return self

    def ci_asymmetry_beyond_rounding(self) -> bool:
        """Whether the estimate sits further from its CI's midpoint than printing can explain.

        Each printed value may be off by half a unit of its last printed digit (read from the
        number as recorded: ``-0.74`` has two decimals). The midpoint can move by at most
        ``half(est) + (half(lo) + half(hi)) / 2``; on the log scale for ratios, each half unit is
        divided by its value (first-order error propagation). The estimate must also sit more than
        :data:`ASYMMETRY_TOLERANCE` of the width off centre, so that a wide interval printed to one
        decimal is not flagged for a hair's breadth.
        """
        share = self.ci_asymmetry()
        if share is None or share <= ASYMMETRY_TOLERANCE:
            return False
        lo, hi, est = self.ci_low, self.ci_high, self.estimate
        slack = _half_unit(est) + (_half_unit(lo) + _half_unit(hi)) / 2
        gap = abs(est - (lo + hi) / 2)
        if self.measure in {"RR", "OR", "HR", "ROM"}:
            slack = (_half_unit(est) / est + (_half_unit(lo) / lo + _half_unit(hi) / hi) / 2)
            gap = abs(math.log(est) - (math.log(lo) + math.log(hi)) / 2)
        return gap > slack

    def ci_asymmetry(self) -> float | None:
        """Distance of the estimate from the CI midpoint, as a share of the CI width.

        Computed on the log scale for ratios. ``None`` without a CI. A printed CI from a normal-theory
        analysis is symmetric up to rounding, so a large value suggests a typo in the source.
        """
        if self.ci_low is None or self.ci_high is None:
            return None
        lo, hi, est = self.ci_low, self.ci_high, self.estimate
        if self.measure in {"RR", "OR", "HR", "ROM"}:
            lo, hi, est = math.log(lo), math.log(hi), math.log(est)
        width = hi - lo
        if width <= 0:
            return None
        return abs(est - (lo + hi) / 2) / width


def _half_unit(value: float) -> float:
    """Half a unit of the last digit of ``value`` as written (``repr``: -0.74 -> 0.005)."""
    text = repr(float(value)).lower()
    if "e" in text:  # 1e-05 and the like: no printed decimals to read; assume exact
        return 0.0
    decimals = len(text.split(".")[1].rstrip("0")) if "." in text else 0
    return 0.5 * 10.0 ** -decimals


class _TypedDirection(_ResultBase):
    @model_validator(mode="after")
    def _direction_given(self):
        if self.direction is None:
            raise ValueError(f"result '{self.id}' ({self.kind}) needs a direction (benefit, harm, "
                             "no-difference, mixed or unclear): without data it cannot be derived")
        return self


class PValueResult(_TypedDirection):
    """Only a p-value and a direction are reported ("pain fell, P < 0.001"). The inequality is kept."""

    kind: Literal["p-value"] = "p-value"
    p_value: float = Field(ge=0, le=1)
    p_relation: Literal["=", "<", "<=", ">", ">="] = "="
    statement: str | None = Field(None, description="the reported finding in words")

    def p_text(self) -> str:
        return f"P {self.p_relation} {self.p_value:g}"


class NarrativeResult(_TypedDirection):
    """Only words are reported ("all scores improved")."""

    kind: Literal["narrative"] = "narrative"
    statement: str


Result = Annotated[
    Union[ArmSummaryResult, ArmEventsResult, ProportionResult, EffectEstimate, PValueResult,
          NarrativeResult],
    Field(discriminator="kind"),
]


class Domain(_Record):
    name: str
    judgement: Literal["low", "some-concerns", "high", "not-assessable"]
    reason: str


class RiskOfBias(_Record):
    tool: str = Field(description="e.g. 'RoB 2 (abstract only)', 'not applicable'")
    overall: Literal["low", "some-concerns", "high", "not-assessable", "not-applicable"]
    reason: str
    domains: tuple[Domain, ...] = ()
    assessed_by: str = "evidencekit reviewers, from the sources in this record"


class Link(_Record):
    relation: Literal["protocol-of", "has-protocol", "includes", "included-in", "cites", "related"]
    target: str = Field(description="citation key of the other study")
    note: str | None = None


CaveatKind = Literal[
    "small-sample", "no-sham", "no-control", "short-follow-up", "negative-trial", "protocol-change",
    "population", "mechanism-hypothesis", "adverse-events-not-reported", "only-p-values",
    "risk-of-bias", "imprecision", "conflict-of-interest", "misreported", "other",
]


class Caveat(_Record):
    """A limitation of a study in plain words, ready for patient material."""

    kind: CaveatKind
    text: str = Field(min_length=10, description="plain language, grade 8 reading level")
    provenance: Provenance | None = None


class Study(_Record):
    """One paper. ``id`` is its BibTeX key; the YAML file is named ``<id>.yaml``."""

    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    short_title: str = Field(description="a few words a clinician recognises")
    design: Design
    randomised: bool = False
    population: Population
    arms: tuple[Arm, ...] = ()
    outcomes: tuple[Outcome, ...] = ()
    results: tuple[Result, ...] = ()
    follow_up: str | None = Field(None, description="longest follow-up, in words")
    risk_of_bias: RiskOfBias
    funding: str | None = Field(None, description="null when not reported")
    conflicts: str | None = Field(None, description="null when not reported")
    links: tuple[Link, ...] = ()
    authors_conclusion: Quote | None = None
    caveats: tuple[Caveat, ...] = ()
    not_reported: tuple[NotReported, ...] = ()
    notes: str | None = None

    @model_validator(mode="after")
    def _references_resolve(self) -> "Study":
        arm_ids = [a.id for a in self.arms]
        outcome_ids = [o.id for o in self.outcomes]
        result_ids = [r.id for r in self.results]
        for label, ids in (("arm", arm_ids), ("outcome", outcome_ids), ("result", result_ids)):
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                raise ValueError(f"duplicate {label} id(s): {', '.join(dupes)}")
        for result in self.results:
            if result.outcome not in outcome_ids:
                raise ValueError(f"result '{result.id}' refers to outcome '{result.outcome}', "
                                 f"which is not among this study's outcomes {outcome_ids}")
            if isinstance(result, (ArmSummaryResult, ArmEventsResult)):
                for summary in result.arms:
                    if summary.arm not in arm_ids:
                        raise ValueError(f"result '{result.id}' refers to arm '{summary.arm}', "
                                         f"which is not among this study's arms {arm_ids}")
        if self.randomised and self.design not in RANDOMISED_DESIGNS:
            raise ValueError(f"randomised is true but design is '{self.design}'")
        return self

    def result(self, result_id: str) -> Result:
        for r in self.results:
            if r.id == result_id:
                return r
        raise KeyError(f"study '{self.id}' has no result '{result_id}'")

    def outcome(self, outcome_id: str) -> Outcome:
        for o in self.outcomes:
            if o.id == outcome_id:
                return o
        raise KeyError(f"study '{self.id}' has no outcome '{outcome_id}'")

    @property
    def n(self) -> int | None:
        return self.population.n


class ImportantEffect(_Record):
    """The smallest effect that matters to patients, for a question."""

    value: float = Field(gt=0, description="size on the outcome's scale, as a positive number")
    scale: str = Field(description="e.g. 'points on the 0-100 NDI', 'SMD'")
    source: str | None = Field(None, description="where the threshold comes from")
    author_judgement: bool = Field(
        False, description="true when no published source is given: our own judgement")
    smd: float | None = Field(
        None, gt=0, description="the same threshold as a standardised mean difference, for "
                                "results reported as SMDs (same source or judgement)")

    @model_validator(mode="after")
    def _needs_source_or_flag(self) -> "ImportantEffect":
        if not self.source and not self.author_judgement:
            raise ValueError("give a source for the threshold, or set author_judgement: true")
        return self


class QuestionEvidence(_Record):
    """A study (and optionally some of its results) that speaks to a question."""

    study: str
    results: tuple[str, ...] = Field((), description="result ids; empty means the study as a whole")
    indirect: str | None = Field(None, description="why this evidence is indirect, if it is")
    comparator_kind: ComparatorKind | None = _comparator_kind(
        "kind of comparison this study's results make for the question")
    note: str | None = None
    caveat_kinds: tuple[CaveatKind, ...] | None = Field(
        None, description="kinds of this study's caveats that bear on the question; null: the "
                          "question's caveat_kinds. Narrow it only with a reason in `note`.")


class Question(_Record):
    """A review question the patient material answers (PICO + time + threshold)."""

    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    title: str
    population: str
    intervention: str
    comparator: str
    outcome: str
    outcome_domains: tuple[OutcomeDomain, ...] = ()
    better: Better | None = Field(
        None, description="which direction of the outcome is better for patients; sets the "
                          "claim's verb (reduce / improve) and the sign of every effect")
    comparator_kind: ComparatorKind | None = _comparator_kind(
        "the kind of comparison evidence makes unless its result, comparator arm or entry says "
        "otherwise")
    measure: str | None = Field(
        None, description="effect measure to compute from arm data (MD, SMD, RR, OR, RD, PLO, "
                          "PR, ...); null: MD for means, RR for events, PLO for proportions")
    time_window: str
    important_effect: ImportantEffect | None = None
    kind: Literal["benefit", "harm", "mechanism", "dose"] = "benefit"
    evidence: tuple[QuestionEvidence, ...] = ()
    topics: tuple[str, ...] = Field((), description="words a patient page uses for this question")
    notes: str | None = None
    caveat_kinds: tuple[CaveatKind, ...] | None = Field(
        None, description="kinds of study caveat that bear on this question; null: all kinds. "
                          "Caveats of other kinds stay in the citation summary.")
    decisions: dict[str, Any] | None = Field(
        None, description="the review team's decisions for this question: `overrides` per GRADE "
                          "domain and `exclude` per study or result, each with `reason` and "
                          "`decided_by` (read and checked by evidencekit.grade.decisions)")
    assumed_ri: float | None = Field(
        None, gt=0, lt=1, description="pre-post correlation assumed where a study does not report "
                                      "its own (0 < r < 1); swept in the sensitivity analyses")


def json_schema() -> dict:
    """JSON Schema of a study YAML file (draft 2020-12), for editors and ``yaml-language-server``."""
    schema = Study.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "evidencekit study record"
    return schema
