"""The leaflet's practical sections: how often side effects happen, other options, questions.

Each is read from the claims and the review settings, never invented: side-effect frequencies
from single-group counts the evidence holds (natural frequencies, Gigerenzer 2007; the unit the
review counts in), other options from the active comparators the studies used, and the questions
to ask from the review's clinician word and what the studies could not answer.
"""
from __future__ import annotations

import re
from typing import Any, NamedTuple, Sequence

from ..grade.study_names import study_name
from ..vocab import PROPORTION_MEASURES
from .presentation import (
    ReviewSettings, claim_effect, jargon_in, natural_frequency, normalised)

__all__ = ["Frequency", "claim_group", "side_effect_frequencies", "other_options", "questions_to_ask"]


class Frequency(NamedTuple):
    what: str
    frequency: str
    detail: str
    citations: tuple[int, ...]



def claim_group(claim: Any) -> str:
    """The leaflet group a claim is shown in: ``"benefit"``, ``"harm"`` or ``"other"``."""
    if getattr(claim, "kind", None) == "harm" or claim.direction == "harm":
        return "harm"
    if getattr(claim, "kind", "benefit") in ("benefit",):
        return "benefit"
    return "other"


def side_effect_frequencies(claims: Sequence[Any], library: Any,
                            numbers: dict[str, int]) -> tuple[Frequency, ...]:
    """How often side effects happened, from single-arm proportions the evidence has.

    A harm claim's pooled proportion (``claim.effect`` with a proportion measure) comes first;
    then each study result on the harm questions that counts events among people (``events`` and
    ``total``, or metafor's ``xi`` and ``ni``) or reports a proportion (measure ``PR``). Ratio
    results (one group against another) are not turned into frequencies: without the comparison
    group's own rate they say nothing about how often.
    """
    out: list[Frequency] = []
    seen: set[str] = set()
    for claim in claims:
        if claim_group(claim) != "harm":
            continue
        effect = claim_effect(claim)
        measure = str(getattr(effect, "measure", "") or "").upper()
        estimate = getattr(effect, "estimate", None)
        if effect is not None and measure in PROPORTION_MEASURES and estimate is not None \
                and 0 <= estimate <= 1:
            k = getattr(effect, "k", None)
            people = getattr(effect, "participants", None)
            detail = ", ".join(x for x in (
                f"{k} studies" if k and k > 1 else "1 study" if k == 1 else "",
                f"{people:,} people" if people else "") if x)
            out.append(Frequency(claim.title, natural_frequency(estimate), detail,
                                 tuple(sorted({numbers[c] for c in claim.citations
                                               if c in numbers}))))
        question = library.questions.get(claim.question) if hasattr(library, "questions") else None
        for ev in getattr(question, "evidence", ()):
            study = library.studies.get(ev.study)
            if study is None:
                continue
            for r in study.results:
                if ev.results and r.id not in ev.results:
                    continue
                events = getattr(r, "events", None)
                total = getattr(r, "total", None)
                if events is None or total is None:
                    events, total = getattr(r, "xi", None), getattr(r, "ni", None)
                if events is not None and total:
                    proportion = events / total
                elif str(getattr(r, "measure", "")).upper() == "PR" \
                        and 0 <= (getattr(r, "estimate", -1) or -1) <= 1:
                    proportion, total = r.estimate, getattr(r, "n_participants", None)
                else:
                    continue
                key = f"{study.id}#{r.id}"
                if key in seen:
                    continue
                seen.add(key)
                try:
                    outcome = study.outcome(r.outcome)
                    what = outcome.instrument or claim.title
                except KeyError:  # pragma: no cover - records validate this
                    what = claim.title
                # what was counted: the review's own word (review.yaml `wording.frequency_unit`,
                # e.g. "treatments" when a survey counts events per treatment), else people
                unit = getattr(r, "unit", None) or _frequency_unit(library)
                said = (f"none in {total:,} {unit}" if proportion == 0 and total
                        else f"{natural_frequency(proportion)} {unit}")
                # the count once: "none in 7,629 treatments (Brady 2014)", not twice
                detail = study_name(library, study.id) + (
                    f", {total:,} {unit}" if total and f"{total:,}" not in said else "")
                out.append(Frequency(what, said, detail,
                                     (numbers[study.id],) if study.id in numbers else ()))
    return tuple(out)


# a comparator that is not a treatment a patient could choose ("a comparison group", "sham") is
# not offered as another option
_NOT_AN_OPTION = re.compile(r"\b(sham|placebo|fake|control|comparison group|no treatment|nothing|"
                            r"waiting|wait list|waitlist|untreated|not treated|usual care)\b", re.I)


def _frequency_unit(library: Any) -> str:
    from ..grade.wording import Wording

    settings = getattr(library, "settings", None)
    overrides = getattr(settings, "wording", None) if settings is not None else None
    return Wording(overrides)("frequency_unit")


def other_options(claims: Sequence[Any], library: Any, settings: ReviewSettings) -> tuple[str, ...]:
    """The active treatments the cited studies compared the intervention with.

    Taken from the studies' comparator arms (not sham or placebo, not "no treatment"). Vague
    labels ("other treatments"), abbreviations and labels that include the intervention itself
    (combinations) are left out. These
    are options the evidence studied, not recommendations: the leaflet says so.
    """
    cited = []
    for claim in claims:
        for key in (*claim.citations, *getattr(claim, "contrary_citations", ())):
            if key not in cited:
                cited.append(key)
    own = normalised(settings.intervention)
    seen: set[str] = set()
    out: list[str] = []

    def add(text: str | None) -> None:
        text = " ".join(str(text or "").split()).strip(" .;,")
        low = text.lower()
        if (not text or len(text) > 60 or _NOT_AN_OPTION.search(low) or own in low
                or "comparator" in low or jargon_in(text)
                or low.startswith(("other", "another", "any ", "the same", "same "))
                or "(" in text or low in seen):
            return
        seen.add(low)
        out.append(text[:1].upper() + text[1:])

    for key in cited:
        study = getattr(library, "studies", {}).get(key)
        if study is None:
            continue
        for arm in getattr(study, "arms", ()):
            if getattr(arm, "role", None) == "comparator" and not getattr(arm, "sham", False):
                add(arm.label)
    return tuple(out)


def questions_to_ask(settings: ReviewSettings) -> tuple[str, ...]:
    """Questions a patient can take to the appointment (after the NHS "Ask 3 Questions" and
    AHRQ question-builder prompts), in the review's words."""
    i = settings.intervention
    return (
        f"What do you hope {i} will do for me, and how will we know if it works?",
        "How many sessions would I need, and what would it cost?",
        "What side effects could I get, and what should I do then?",
        "What else could I try, and what if I wait and see?",
    )


