"""The patient leaflet: short, plain, benefits and harms side by side, every number sourced.

What a leaflet holds, in order (after IPDAS 2005 and the NHS and Cochrane plain-language guides):
what the treatment is; the key messages, one line per claim, the most certain first, benefits and
harms side by side, each naming what the treatment was compared with; what to keep in mind (each
caveat once, with the most certain claim it bears on); how often side effects happen, as natural
frequencies where the evidence counts them; who should not have it or should ask first; other
options (the active treatments the studies compared it with); questions to ask; the certainty
levels; who wrote it, their conflicts and the dates; the references.

Everything topic-specific comes from the evidence folder: the review settings
(:func:`evidencekit.presentation.review_settings`), the questions and the study records. The
detail a clinician needs (each study's caveats, effects and domains, forest plots) is in the
clinician summary (:mod:`evidencekit.clinician`), not here.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, NamedTuple

from .errors import InputError
from .presentation import (
    CERTAINTY_WORDS, ReviewSettings, certainty_of, claim_comparator, claim_effect,
    comparator_already_named,
    claims_by_importance, group_caveats, jargon_in, natural_frequency, normalised,
    reference_numbers, review_settings,
)
from .templating import html_env, md_env, reference_list, version

__all__ = ["LEAFLET_WORD_LIMIT", "leaflet_model", "render_leaflet", "other_options",
           "side_effect_frequencies", "leaflet_reference_numbers"]

#: Words before the references. Cochrane plain-language summaries allow 850 words and NHS
#: leaflets run to about two printed pages; 1,200 leaves room for a review with many questions.
LEAFLET_WORD_LIMIT = 1200

#: Measures whose estimate is a proportion of people (or treatments) with the event, on the
#: natural scale (metafor's PR, and the back-transformed PLO, PAS and PFT).
PROPORTION_MEASURES = frozenset({"PR", "PLO", "PAS", "PFT"})


class KeyMessage(NamedTuple):
    question: str
    anchor: str
    title: str
    title_lower: str
    claim: str
    comparator: str
    certainty: str
    label: str
    citations: tuple[int, ...]
    contrary: tuple[int, ...]
    caveats: tuple[str, ...]
    group: str  # "benefit", "harm" or "other"


class Frequency(NamedTuple):
    what: str
    frequency: str
    detail: str
    citations: tuple[int, ...]


class HeldBack(NamedTuple):
    """A caveat kept out of the leaflet because its wording uses words patients should not meet.

    It is still printed in the clinician summary; the build notes it so its author can reword it.
    """

    question: str
    text: str
    words: tuple[str, ...]


def _anchor(qid: str) -> str:
    return "q-" + re.sub(r"[^a-z0-9-]+", "-", str(qid).lower()).strip("-")


def _group(claim: Any) -> str:
    if getattr(claim, "kind", None) == "harm" or claim.direction == "harm":
        return "harm"
    if getattr(claim, "kind", "benefit") in ("benefit",):
        return "benefit"
    return "other"


def leaflet_reference_numbers(claims: Any, library: Any) -> dict[str, int]:
    """The leaflet's reference numbers: first citation order in the key messages (most certain first).

    The citation summary lists its studies in this order, so a number in the leaflet finds its
    entry there.
    """
    ordered = claims_by_importance(tuple(getattr(claims, "claims", claims)))
    # Studies considered but not counted are the clinician summary's, not the leaflet's.
    return reference_numbers(ordered, library.references, considered=False)


def _study_label(library: Any, study_id: str) -> str:
    ref = getattr(library, "references", {}).get(study_id)
    if ref is not None and hasattr(ref, "short_citation"):
        return ref.short_citation()
    study = getattr(library, "studies", {}).get(study_id)
    return getattr(study, "short_title", study_id)


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
        if _group(claim) != "harm":
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
                unit = getattr(r, "unit", None) or "people"
                detail = _study_label(library, study.id) + (f", {total:,} {unit}" if total else "")
                out.append(Frequency(what, f"{natural_frequency(proportion)} {unit}", detail,
                                     (numbers[study.id],) if study.id in numbers else ()))
    return tuple(out)


_NOT_AN_OPTION = re.compile(r"\b(sham|placebo|fake|control|no treatment|nothing|waiting|wait list|"
                            r"waitlist|untreated|not treated|usual care)\b", re.I)


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


def _lower_first(title: str) -> str:
    # "Pain relief" -> "pain relief" inside a sentence; an acronym ("NHS ...") stays as it is.
    title = " ".join(str(title).split()).rstrip(".?!:")
    if len(title) > 1 and title[0].isupper() and title[1].islower():
        return title[0].lower() + title[1:]
    return title


def leaflet_model(claims: Any, library: Any, *, title: str | None = None) -> dict[str, Any]:
    """Everything both leaflet templates show, as plain values (see the module docstring)."""
    items = tuple(getattr(claims, "claims", claims))
    settings = review_settings(library, title=title)
    for claim in items:
        if certainty_of(claim) not in CERTAINTY_WORDS:
            raise InputError(f"claim for question '{claim.question}' has certainty "
                             f"{claim.certainty!r}; expected one of {', '.join(CERTAINTY_WORDS)}")
    ordered = claims_by_importance(items)
    numbers = leaflet_reference_numbers(ordered, library)
    said: set[str] = set()
    held: list[HeldBack] = []
    messages = []
    for claim in ordered:
        general, _ = group_caveats(claim, library)
        mine = []
        for text in general:
            # Each caveat once: the first (most certain) claim it bears on carries it, because
            # that is the claim a reader is most likely to act on.
            key = normalised(text)
            if key in said:
                continue
            said.add(key)
            words = jargon_in(text)
            if words:
                held.append(HeldBack(claim.question, text, tuple(words)))
                continue
            mine.append(text)
        level = certainty_of(claim)
        comparator = claim_comparator(claim, library)
        messages.append(KeyMessage(
            question=claim.question, anchor=_anchor(claim.question), title=claim.title,
            title_lower=_lower_first(claim.title),
            claim=" ".join(str(claim.claim).split()),
            # said once: a claim that already names its comparator is not told it again
            comparator="" if comparator_already_named(claim, comparator) else comparator,
            certainty=level,
            label=CERTAINTY_WORDS[level][0],
            citations=tuple(sorted({numbers[k] for k in claim.citations})),
            contrary=tuple(sorted({numbers[k] for k in getattr(claim, "contrary_citations", ())})),
            caveats=tuple(mine), group=_group(claim)))
    return {
        "settings": settings,
        "title": settings.title,
        "benefits": tuple(m for m in messages if m.group == "benefit"),
        "harms": tuple(m for m in messages if m.group == "harm"),
        "others": tuple(m for m in messages if m.group == "other"),
        "messages": tuple(messages),
        "frequencies": side_effect_frequencies(ordered, library, numbers),
        "options": other_options(ordered, library, settings),
        "questions_to_ask": questions_to_ask(settings),
        "certainty_words": CERTAINTY_WORDS,
        "references": reference_list(numbers, library.references),
        "held_back": tuple(held),
        "version": version(),
    }


def questions_to_ask(settings: ReviewSettings) -> tuple[str, ...]:
    """Questions a patient can take to the appointment (after the NHS "Ask 3 Questions" and
    AHRQ question-builder prompts), in the review's words."""
    i = settings.intervention
    return (
        f"What do you hope {i} will do for me, and how will we know if it is working?",
        "How many sessions would I need, and what would it cost?",
        "What side effects could I get, and what should I do if I get one?",
        f"Is there any reason {i} is not right for me?",
        "What are my other options, and what happens if I wait and see?",
    )


def render_leaflet(claims: Any, library: Any, fmt: str = "html", *,
                   title: str | None = None) -> str:
    """Render the patient leaflet.

    Parameters
    ----------
    claims
        A :class:`~evidencekit.claims.ClaimSet` (or a sequence of claims).
    library
        The library the claims came from (references, studies, questions, review settings).
    fmt
        ``"html"`` (self-contained, escaped, no network loads) or ``"md"``.
    title
        The leaflet's heading; default: the review settings' title.

    Returns
    -------
    str

    Raises
    ------
    InputError
        When a claim cites a key that is not in the references, or has an unknown certainty.
    """
    if fmt not in ("html", "md"):
        raise ValueError(f"fmt must be 'html' or 'md', got {fmt!r}")
    model = leaflet_model(claims, library, title=title)
    if fmt == "md":
        return md_env().get_template("leaflet.md.j2").render(**model)
    return html_env().get_template("leaflet.html.j2").render(**model)
