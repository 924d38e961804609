"""Review settings: what a review is about, who wrote it and when (``review.yaml``).

The topic of a review lives in its evidence folder, never in the code: the intervention's name
(as a noun phrase and as the subject of a sentence), the title, the audience, the authors and their
conflicts, the dates of the search and of the review (or, when the studies were not found by a
dated search, ``evidence_scope``: how they were found), a plain description of the treatment with
its source, a contact, the word for the clinician, the
outcome domains the review uses and the population characteristics its records may carry.
``evidencekit new`` writes the file; :func:`evidencekit.load_library` reads it into
``Library.settings``; ``evidencekit validate`` checks it.

Wording sentences (claims and caveats) may be overridden per review under ``wording:`` (a mapping
of template name -> text with ``{intervention}``, ``{comparator}``, ``{outcome}`` placeholders;
see :mod:`evidencekit.grade.wording`).
"""
from __future__ import annotations

import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .evidence.records import DEFAULT_OUTCOME_DOMAINS

__all__ = ["ReviewSettings", "SETTINGS_FILE", "DEFAULT_CLINICIAN", "settings_yaml"]

#: The settings file's name inside an evidence folder.
SETTINGS_FILE = "review.yaml"

#: The clinician word when a review does not name one: generic, true of any treatment.
DEFAULT_CLINICIAN = "your doctor or therapist"


class ReviewSettings(BaseModel):
    """The settings of one review (keys as in ``review.yaml``; absent means not known)."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    intervention: str = Field(min_length=2, description="noun phrase, e.g. 'BCG vaccination'")
    intervention_subject: str | None = Field(
        None, description="the intervention at the start of a sentence; default: capitalised")
    title: str | None = None
    audience: str | None = Field(None, description="who the patient material is for")
    description: str | None = Field(
        None, description="one plain paragraph: what the treatment is and how it is done "
                          "(the leaflet's 'What is ...?'; absent: 'Ask your <clinician>')")
    description_source: str | None = Field(
        None, description="where the description comes from (a paper, a guideline), printed "
                          "after it; required with a description")
    who_should_not: tuple[str, ...] = Field(
        (), description="who should not have the treatment, as plain phrases")
    ask_first: tuple[str, ...] = Field(
        (), description="who should ask their clinician first, as plain phrases")
    authors: tuple[str, ...] = ()
    conflicts: str | None = Field(None, description="the authors' conflicts of interest")
    search_date: datetime.date | None = Field(None, description="date of the evidence search")
    evidence_scope: str | None = Field(
        None, description="how the studies were found when that was not a dated search, in "
                          "plain words (e.g. 'the studies two clinic pages cite, and later "
                          "reviews'); the leaflet prints it instead of 'searched up to'")
    review_date: datetime.date | None = None
    contact: str | None = None
    clinician: str = DEFAULT_CLINICIAN
    outcome_domains: tuple[str, ...] = DEFAULT_OUTCOME_DOMAINS
    characteristics: dict[str, str] = Field(
        default_factory=dict, description="population characteristics records may carry: "
                                          "name -> what it means")
    wording: dict[str, str] = Field(
        default_factory=dict, description="overrides of the built-in wording templates")

    @model_validator(mode="after")
    def _description_names_its_source(self) -> "ReviewSettings":
        if self.description and not self.description_source:
            raise ValueError("description needs a description_source: name where the paragraph "
                             "comes from (e.g. a paper's definition), so a reader can check it")
        return self

    @field_validator("outcome_domains")
    @classmethod
    def _domains_are_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [d for d in value if not d or d != d.lower() or " " in d]
        if bad:
            raise ValueError(f"outcome domains are lowercase names without spaces "
                             f"(e.g. 'quality-of-life'); fix {', '.join(map(repr, bad))}")
        return value

    @property
    def subject(self) -> str:
        """The intervention as the subject of a sentence ("BCG vaccination ...")."""
        if self.intervention_subject:
            return self.intervention_subject
        i = self.intervention
        return i[:1].upper() + i[1:]

    def summary(self) -> str:
        return (f"{self.title or self.intervention} (intervention: {self.intervention}; "
                f"search {self.search_date or 'date not stated'}; "
                f"review {self.review_date or 'date not stated'})")

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame([{"setting": k, "value": v} for k, v in self.model_dump().items()]
                            ).set_index("setting")


def settings_yaml(intervention: str, title: str | None = None) -> str:
    """The text of a new ``review.yaml`` (``evidencekit new``): known values set, the rest null."""
    import yaml

    def q(value) -> str:
        return yaml.safe_dump(value, default_flow_style=True, allow_unicode=True).strip() \
            .removesuffix("...").strip()

    subject = intervention[:1].upper() + intervention[1:]
    return "\n".join([
        "# Review settings: what this review is about and who wrote it. Every output takes the",
        "# topic from here. Leave a value null when it is not known; never guess one.",
        f"intervention: {q(intervention)}",
        f"intervention_subject: {q(subject)}",
        f"title: {q(title or subject + ': what the research says')}",
        "audience: null          # who the leaflet is for, e.g. 'adults thinking about ...'",
        "authors: []             # names, as they should be printed",
        "conflicts: null         # the authors' conflicts of interest, or 'none declared'",
        "search_date: null       # ISO date of the evidence search, e.g. 2026-11-30",
        "# evidence_scope: how the studies were found, when it was not a dated search",
        "# description: one plain paragraph saying what the treatment is",
        "# description_source: where that paragraph comes from",
        "review_date: null       # ISO date of this review",
        "contact: null",
        f"clinician: {q(DEFAULT_CLINICIAN)}",
        "# outcome_domains: [pain, function, adverse-events, other]   # default: a generic list",
        "characteristics: {}     # population characteristics the records may carry: name: meaning",
        "",
    ])
