"""What every output shares: the review's settings, certainty words, plain-language checks.

The leaflet, the clinician summary and the citation summary all speak about one review. Its name,
title, authors, dates and the word for the clinician come from the evidence folder's review
settings (``review.yaml``, loaded as ``library.settings``); where a folder has none, they are
derived from the questions (their ``intervention``), never from a topic written in this code.

This module imports nothing from the rest of evidencekit, so every output module may use it.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from ..evidence.settings import ReviewSettings
from ..vocab import CERTAINTY_ORDER

__all__ = [
    "CERTAINTY_ORDER", "CERTAINTY_WORDS", "PATIENT_BANNED_WORDS", "ReviewSettings",
    "review_settings", "jargon_in", "natural_frequency", "claim_effect", "claim_comparator",
    "claims_by_importance", "word_count",
]


#: What each certainty level means, in the current GRADE wording (Balshem H et al. GRADE
#: guidelines: 3. Rating the quality of evidence. J Clin Epidemiol 2011;64:401-6, Table 2, as
#: used by the GRADE Handbook section 5 and GRADEpro), put in plain words for patients after the
#: Cochrane plain-language-summary guidance ("we are moderately confident ...").
#: "no evidence" is not a GRADE level: it is printed so that a question without studies is
#: never read as a finding.
CERTAINTY_WORDS: dict[str, tuple[str, str]] = {
    "high": ("High", "we are very confident that the real effect is close to what the studies "
                     "found."),
    "moderate": ("Moderate", "we are moderately confident. The real effect is probably close to "
                             "what the studies found, but it may be quite different."),
    "low": ("Low", "our confidence is limited. The real effect may be quite different."),
    "very low": ("Very low", "we have very little confidence. The real effect is probably quite "
                             "different."),
    "no evidence": ("No evidence", "no study we found answered this question."),
}

#: Words and phrases patient text may not use: statistics and method jargon, journal and trial
#: jargon, and phrases that speak about our reading rather than about the evidence. Matched as
#: whole words, case-insensitively (abbreviations in capitals only, so "ci" inside a word or the
#: word "met" do not count). ``tests/test_leaflet.py`` checks every built leaflet against it.
PATIENT_BANNED_WORDS: tuple[str, ...] = (
    "p-value", "p-values", "p value", "p values", "meta-analysis", "meta-analyses",
    "metaanalysis", "heterogeneity", "single-blind", "double-blind", "single blind",
    "double blind", "protocol", "protocols", "confidence interval", "standardised mean difference",
    "standardized mean difference", "mean difference", "statistically significant",
    "in what we could read", "what we could read", "randomised controlled trial", "RCT",
    "imprecision", "risk ratio", "odds ratio", "JOSPT",
)
#: Abbreviations are banned in capitals (case-sensitive), so ordinary words are not caught.
PATIENT_BANNED_ABBREVIATIONS: tuple[str, ...] = (
    "SMD", "CI", "MD", "RR", "OR", "HR", "DN", "MET", "RoB", "GRADE", "NDI", "VAS", "NPRS",
    "MTrP", "MTrPs", "RCT", "RCTs", "WMD", "SD", "SE", "HKSJ", "REML", "I²", "tau²",
)

_BANNED_RE = re.compile(
    r"(?<![\w-])(" + "|".join(re.escape(w) for w in sorted(
        {w for w in PATIENT_BANNED_WORDS if not w.isupper()}, key=len, reverse=True)) + r")(?![\w-])",
    re.IGNORECASE)
_ABBREV_RE = re.compile(
    r"(?<![\w-])(" + "|".join(re.escape(w) for w in sorted(
        set(PATIENT_BANNED_ABBREVIATIONS) | {w for w in PATIENT_BANNED_WORDS if w.isupper()},
        key=len, reverse=True)) + r")(?![\w-])")


def jargon_in(text: str) -> list[str]:
    """The banned words and abbreviations found in ``text``, in order of appearance.

    Examples
    --------
    >>> jargon_in("The p-values were small (SMD 0.4).")
    ['p-values', 'SMD']
    """
    text = str(text)
    found = [(m.start(), m.group(0)) for m in _BANNED_RE.finditer(text)]
    found += [(m.start(), m.group(0)) for m in _ABBREV_RE.finditer(text)]
    return [word for _, word in sorted(found)]


_WORDS_RE = re.compile(r"[A-Za-z0-9À-ÿ]+(?:['’\-][A-Za-z0-9À-ÿ]+)*")


def word_count(text: str) -> int:
    """Words as a reader counts them: runs of letters or digits (hyphenated words count once)."""
    return len(_WORDS_RE.findall(str(text)))


def natural_frequency(proportion: float) -> str:
    """A proportion as a natural frequency a patient can picture.

    Parameters
    ----------
    proportion
        Between 0 and 1 (e.g. 0.2 for 20 in 100).

    Returns
    -------
    str
        ``"about 1 in 5"``; ``"about 3 in 10"`` for common events; ``"fewer than 1 in 1,000"`` for
        very rare ones.

    Notes
    -----
    Natural frequencies with a constant denominator are understood better than percentages or
    "1 in N" with varying N for common events (Gigerenzer G, Edwards A. BMJ 2003;327:741-4;
    IPDAS 2005 presentation of probabilities). Below 1 in 10 a "1 in N" form is used, rounded to
    a round N, because readers picture rare events that way (Akl EA et al., Cochrane Database
    Syst Rev 2011;CD006776).
    """
    p = float(proportion)
    if not math.isfinite(p) or p < 0 or p > 1:
        raise ValueError(f"a proportion must be between 0 and 1, got {proportion!r}")
    if p == 0:
        return "none"
    if p < 0.001:
        return "fewer than 1 in 1,000"
    if p <= 0.5:
        whole = round(1 / p)
        if abs(1 / p - whole) <= 0.1 * whole:  # 0.2 -> "1 in 5", 0.33 -> "1 in 3"
            return f"about 1 in {_round_denominator(whole):,}"
    if p < 0.095:
        return f"about 1 in {_round_denominator(1 / p):,}"
    tens = min(10, round(p * 10))
    return "almost all" if tens == 10 and p < 1 else f"about {tens} in 10"


def _round_denominator(n: float) -> int:
    # "1 in 37" claims a precision the data rarely have; round to a number people picture.
    for limit, step in ((20, 1), (100, 5), (1000, 50)):
        if n < limit:
            return int(round(n / step) * step)
    return int(round(n / 100) * 100)


def _common_intervention(library: Any) -> str:
    # The questions all name the intervention; the most common wording is the review's.
    names = Counter(" ".join(str(getattr(q, "intervention", "")).split())
                    for q in getattr(library, "questions", {}).values())
    names.pop("", None)
    if not names:
        return "the treatment"
    return names.most_common(1)[0][0]


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def review_settings(library: Any, *, title: str | None = None) -> ReviewSettings:
    """The review settings of ``library`` (``library.settings``), completed for the outputs.

    Parameters
    ----------
    library
        A loaded library; ``settings`` may be absent (an evidence folder without review.yaml) or
        a mapping of review.yaml's keys.
    title
        Overrides the settings' title (``build(title=...)``).

    Returns
    -------
    ReviewSettings
        The review's own settings (:class:`evidencekit.evidence.settings.ReviewSettings`, the one
        definition), with the sentence subject and the title filled in where review.yaml leaves
        them out. Without settings, the intervention is the one the questions name most often.
        Nothing else is invented: authors, conflicts and dates stay empty when not given.
    """
    settings = getattr(library, "settings", None)
    if isinstance(settings, Mapping):
        settings = ReviewSettings.model_validate(dict(settings))
    if settings is None:
        settings = ReviewSettings(intervention=_common_intervention(library))
    subject = settings.intervention_subject or _capital(settings.intervention)
    heading = title or settings.title or f"{subject}: what the research says"
    return settings.model_copy(update={"intervention_subject": subject, "title": heading})


# ---------------------------------------------------------------------------------------------
# claims, read with fallbacks: per-comparison claims (with `comparison`, `effect`, `domains`)
# and the older per-question claims both work.


def claim_effect(claim: Any) -> Any:
    """The pooled effect a claim rests on (``claim.effect``), or None."""
    return getattr(claim, "effect", None)


def claim_comparator(claim: Any, library: Any) -> str:
    """What the claim's treatment was compared with, in words."""
    comparison = getattr(claim, "comparison", None)
    if comparison:
        text = " ".join(str(comparison).split())
        # Per-comparison claims may name both sides ("dry needling vs sham"): the reader is told
        # what the treatment was compared with, so only the comparator side is kept.
        parts = _VS_RE.split(text, maxsplit=1)
        return parts[1].strip() if len(parts) == 2 and parts[1].strip() else text
    question = getattr(library, "questions", {}).get(getattr(claim, "question", None))
    return " ".join(str(getattr(question, "comparator", "") or "").split())


_VS_RE = re.compile(r"\s+(?:vs\.?|versus)\s+", re.I)


def comparator_already_named(claim: Any, comparator: str) -> bool:
    """True when the claim's text or title already says what it was compared with."""
    said = normalised(f"{getattr(claim, 'title', '')} {getattr(claim, 'claim', '')}")
    return bool(comparator) and normalised(comparator) in said


_DIRECTION_RANK = {"benefit": 0, "harm": 0, "no-difference": 1, "unclear": 2, "no-evidence": 3}


def claims_by_importance(claims: Sequence[Any]) -> list[Any]:
    """Claims most certain first; an informative finding before an unclear one; then file order.

    The most certain finding leads: a reader who stops early has read what we are surest of.
    """
    def key(item):
        index, claim = item
        level = claim.certainty if claim.certainty in CERTAINTY_ORDER else "very low"
        return (CERTAINTY_ORDER.index(level), _DIRECTION_RANK.get(claim.direction, 2), index)

    return [c for _, c in sorted(enumerate(claims), key=key)]


def reference_numbers(claims: Sequence[Any], references: Mapping[str, Any], *,
                      considered: bool = True) -> dict[str, int]:
    """Vancouver numbers: references in the order the claims (as given) first cite them.

    Each claim's own citations, then the studies that found no worthwhile benefit, then (with
    ``considered``) those looked at but not counted as support.
    """
    from ..errors import InputError

    numbers: dict[str, int] = {}
    for claim in claims:
        keys = [*claim.citations, *getattr(claim, "contrary_citations", ())]
        if considered:
            keys += list(getattr(claim, "considered_citations", ()))
        for key in keys:
            if key not in references:
                raise InputError(f"claim for question '{claim.question}' cites '{key}', which is not "
                                 "in references.bib; add the entry or correct the key",
                                 file="references.bib", field=f"{claim.question}.citations")
            numbers.setdefault(key, len(numbers) + 1)
    return numbers


def normalised(text: str) -> str:
    return " ".join(str(text).split()).lower()


def group_caveats(claim: Any, library: Any) -> tuple[tuple[str, ...], tuple[tuple[str, tuple[str, ...]], ...]]:
    """A claim's caveats split into those about the evidence as a whole and those of each study.

    Returns ``(general, by_study)`` with ``by_study`` as ``(study id, caveats)`` pairs in the
    question's evidence order. A caveat is a study's when its text is one of that study's recorded
    caveats (claims.py copies them verbatim); the rest came from the rating. Every caveat lands in
    exactly one group, in its original order.
    """
    question = getattr(library, "questions", {}).get(claim.question)
    studies = getattr(library, "studies", {})
    owner: dict[str, str] = {}
    order: list[str] = []
    for ev in getattr(question, "evidence", ()):
        study = studies.get(ev.study)
        if study is None or study.id in order:
            continue
        order.append(study.id)
        for c in study.caveats:
            owner.setdefault(normalised(c.text), study.id)
    general: list[str] = []
    grouped: dict[str, list[str]] = {}
    for text in claim.caveats:
        sid = owner.get(normalised(text))
        if sid is None:
            general.append(text)
        else:
            grouped.setdefault(sid, []).append(text)
    return tuple(general), tuple((sid, tuple(grouped[sid])) for sid in order if sid in grouped)


def certainty_of(claim: Any) -> str:
    """The certainty a reader is shown: "no evidence" where no study answered the question."""
    if getattr(claim, "direction", None) == "no-evidence":
        return "no evidence"
    return claim.certainty
