"""Audit an existing patient page: which sentences claim more than the evidence supports.

The audit reads a page (plain text, Markdown or HTML), splits it into sentences and, for every
sentence that makes a health claim about the treatment, finds the question(s) it speaks to, measures
how strongly it is worded on the wording ladder of :mod:`evidencekit.grade.claims`, and compares that with
the claim the evidence allows for the question. It gives one of five verdicts:

``supported``
    worded no stronger than the certainty allows (and in the direction of the evidence);
``overstated``
    stronger than the certainty allows, or an absolute ("proves", "all participants", "safe");
``unsupported``
    no evidence in the review speaks to it (e.g. a promised number of sessions);
``contradicted``
    claims a benefit where a study of the same outcome and comparison found no difference (or
    harm), or claims the treatment beats a comparator the evidence found it no better than;
``mechanism-as-fact``
    a hypothesised mechanism stated as established.

Modules, in the order a page goes through them: :mod:`.pages` (reading, exact offsets),
:mod:`.sentences`, :mod:`.lexicon` (language rules, topic-free, ``data/audit_lexicon.yaml``),
:mod:`.topics` (the review's topic knowledge, ``audit-topics.yaml`` in the evidence folder),
:mod:`.cues`, :mod:`.routing`, :mod:`.strength` and :mod:`.verdicts` (the typed steps of judging
a sentence), :mod:`.judge` (the steps in order), :mod:`.report` (outputs) and :mod:`.batch` (many
pages).
There is no statistical model, and the audit never rates certainty itself.
"""
from __future__ import annotations

import bisect
import re
from pathlib import Path
from typing import Any

from ..errors import InputError
from .cues import read_cues
from .judge import judge
from .lexicon import VERDICTS, Lexicon, PhraseIndex, Phrases, load_lexicon
from .pages import (FORMATS, MAX_BYTES, NORMALISE, decode_page, html_extract, html_to_text,
                    markdown_scan, read_page)
from .report import AuditReport, Finding
from .sentences import MAX_SENTENCE, mask_titles, reference_lines, sentence_spans
from .topics import (TOPIC_FILE, Comparator, Topics, load_topics, topics_from_claims,
                     validate_topics)

__all__ = [
    "VERDICTS", "Finding", "AuditReport", "Lexicon", "Topics", "Comparator", "audit_text",
    "read_page", "decode_page", "html_to_text", "load_lexicon", "load_topics", "validate_topics",
    "MAX_BYTES", "MAX_SENTENCE", "TOPIC_FILE",
]


def _claims_from(claims: Any) -> Any:
    """A ClaimSet as given, or one made from a Library (the audit never rates certainty itself)."""
    if hasattr(claims, "get") and hasattr(claims, "claims"):
        return claims
    if hasattr(claims, "questions") and hasattr(claims, "studies"):
        from ..grade.claims import make_claims

        return make_claims(claims)
    raise TypeError("claims must be a ClaimSet (evidencekit.make_claims) or a Library "
                    "(evidencekit.load_library)")


def _topics_for(topics: Any, claims: Any, raw_claims: Any, lex: Lexicon) -> Topics:
    if isinstance(topics, Topics):
        return topics
    if topics is not None:  # an evidence folder
        return load_topics(topics, lexicon=lex)
    root = getattr(raw_claims, "root", None)  # a Library knows its folder
    if root is not None:
        return load_topics(root, lexicon=lex)
    return topics_from_claims(claims)


def _topic_groups(topics: Topics, claims: Any) -> dict[str, Phrases]:
    """Topic phrases per question: the topic file's (or derived) plus each claim's own ``topics``,
    except for questions the topic file restricts with ``requires``."""
    groups = dict(topics.questions)
    for c in getattr(claims, "claims", ()):
        extra = [t for t in (getattr(c, "topics", ()) or ()) if t not in (
            groups[c.question].phrases if c.question in groups else ())]
        if extra:
            base = list(groups[c.question].phrases) if c.question in groups else []
            groups[c.question] = Phrases(base + extra, f"topics.{c.question}", None)
    return groups


def _is_title(text: str, start: int, end: int) -> bool:
    """A Markdown heading line, or a unit wrapped in emphasis ("- **Pain relief.** ...")."""
    line_start = text.rfind("\n", 0, start) + 1
    if text[line_start:start].lstrip().startswith("#"):
        return True
    return text[max(0, start - 2):start].endswith(("*", "_")) and text[end:end + 1] in ("*", "_")


def _html_title(unit: str, titles: frozenset[str]) -> bool:
    words = " ".join(unit.split())
    return words in titles or words.rstrip(".:!") in titles


def audit_text(text: str, claims: Any, *, lexicon: str | Path | Lexicon | None = None,
               topics: str | Path | Topics | None = None,
               source_format: str = "text") -> AuditReport:
    """Judge every health-claim sentence of a page against the claims the evidence allows.

    Parameters
    ----------
    text
        The page as read (:func:`read_page`). For ``source_format="html"`` the tags are stripped
        first and the offsets index into the stripped text (:attr:`AuditReport.text`).
    claims
        A :class:`~evidencekit.grade.claims.ClaimSet` (or a Library, from which one is made). Certainty and
        direction come from it; the audit does not rate evidence.
    lexicon
        Path of a language lexicon YAML file (default: the one shipped with evidencekit), or a loaded
        one.
    topics
        The review's topic knowledge: an evidence folder (its ``audit-topics.yaml``, or derived
        from its ``questions.yaml``), or loaded :class:`Topics`. Default: the Library's folder when
        ``claims`` is a Library, else derived from the claims alone.
    source_format
        ``"text"``, ``"markdown"`` or ``"html"``.

    Returns
    -------
    AuditReport

    Notes
    -----
    Per sentence, the steps of :mod:`evidencekit.audit.judge`: cues (with ConText-style negation),
    is it a claim about the treatment, which questions, how strongly worded (GRADE guideline 26,
    Santesso 2020, as in :mod:`evidencekit.grade.claims`), the verdict. The work per sentence is bounded
    (phrases indexed by first word, sentences at most :data:`MAX_SENTENCE` characters), so the
    audit is linear in the length of the page.
    """
    if source_format not in FORMATS:
        raise InputError(f"unknown source format {source_format!r}; use one of {', '.join(FORMATS)}")
    if not isinstance(text, str):
        raise InputError("the page must be text (str); read files with read_page()")
    lex = lexicon if isinstance(lexicon, Lexicon) else load_lexicon(lexicon)
    cs = _claims_from(claims)
    tp = _topics_for(topics, cs, claims, lex)
    html_titles: frozenset[str] = frozenset()
    if source_format == "html":
        text, html_titles = html_extract(text)
    scan = (markdown_scan(text) if source_format == "markdown" else text).translate(NORMALISE)
    spans = sentence_spans(scan, lex)
    line_starts = [0] + [m.end() for m in re.finditer(r"\n", text)]
    groups = _topic_groups(tp, cs)
    index = PhraseIndex(lex.groups() + tp.groups() + [g for g in groups.values()])
    refs = reference_lines(scan, lex)
    ref_starts = [a for a, _ in refs]
    findings = []
    recent_study: list[bool] = []
    for s, e in spans:
        k = bisect.bisect_right(ref_starts, s) - 1
        if k >= 0 and s < refs[k][1]:
            recent_study.append(False)
            continue  # a reference-list entry: a study's title is not the page's claim
        unit = scan[s:e]
        hits = index.scan(unit)
        lead_ins = hits.get(id(lex.citation_lead_ins))
        if lead_ins:
            unit = mask_titles(unit, lead_ins)
            hits = index.scan(unit)
        has_study = bool(hits.get(id(lex.study_context)))
        context_study = has_study or any(recent_study[-2:])
        recent_study.append(has_study)
        cues = read_cues(unit, hits, context_study, lex, tp, groups,
                         title=(source_format == "markdown" and _is_title(text, s, e))
                         or (bool(html_titles) and _html_title(text[s:e], html_titles)))
        j = judge(cues, cs, lex, tp)
        if j is None:
            continue
        v = j.shown
        findings.append(Finding(start=s, end=e, text=text[s:e], verdict=v.verdict, reason=v.reason,
                                suggestion=v.suggestion, evidence=v.evidence, questions=j.questions,
                                cues=j.cues, line=bisect.bisect_right(line_starts, s),
                                strength=j.strength, allowed=v.allowed))
    return AuditReport(text=text, findings=tuple(findings), source_format=source_format,
                       sentences=len(spans), lexicon=lex.source, topics=tp.source)
