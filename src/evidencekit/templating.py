"""Rendering helpers every output shares: escaping, Jinja2 environments, linked references.

Markdown output escapes every value (``md_escape`` is the environment's ``finalize``); HTML output
has autoescape on, so text from a BibTeX title or a caveat never becomes markup. References are
formatted by citeproc-py (:func:`evidencekit.evidence.bibliography.format_references`) and linked only to a
DOI, PubMed/PubMed Central or the publisher's own address.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from . import markup

__all__ = ["MdSafe", "md_escape", "md_link", "md_env", "html_env", "Segment", "Reference",
           "reference_list", "reference_segments", "version"]

TEMPLATES = Path(__file__).with_name("templates")


# Markdown escaping (CommonMark and GFM) and control stripping are :mod:`evidencekit.markup`'s.
MdSafe = markup.MdSafe
md_escape = markup.md_escape
SAFE_URL_RE = re.compile(r"^https?://[^\s<>\"'`\\]+$")


def md_link(url: str | None) -> MdSafe:
    """An autolink ``<https://...>`` for a plain address, or the escaped text when it is not one."""
    if url and SAFE_URL_RE.match(url):
        return MdSafe(f"<{url}>")
    return MdSafe(md_escape(url))


def number_runs(numbers) -> list[tuple[int, int]]:
    """Sorted reference numbers as runs: [1, 2, 3, 5] -> [(1, 3), (5, 5)].

    Vancouver style prints three or more consecutive numbers as a range ("1-3"), which keeps a
    line with many references short.
    """
    runs: list[list[int]] = []
    for n in sorted(set(numbers)):
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    out: list[tuple[int, int]] = []
    for first, last in runs:
        if last - first >= 2:
            out.append((first, last))
        else:  # two consecutive numbers stay as a pair ("1, 2")
            out.extend((n, n) for n in range(first, last + 1))
    return out


def md_env():
    """Jinja2 environment for Markdown templates: every ``{{ value }}`` passes through md_escape."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=False,
        finalize=md_escape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    env.filters["mdlink"] = md_link
    env.filters["runs"] = number_runs
    # A macro's output is Markdown the template built (its values already escaped): not again.
    env.filters["built"] = lambda value: MdSafe(str(value))
    return env


def html_env():
    """Jinja2 environment for HTML templates: autoescape on (a ``<script>`` in a title is text)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        # control characters (a NUL from a YAML "\0") are removed before escaping
        finalize=markup.html_finalize,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    env.filters["runs"] = number_runs
    return env


def version() -> str:
    from . import __version__

    return __version__


# ---------------------------------------------------------------------------------------------
# references


class Segment(NamedTuple):
    text: str
    href: str | None = None


class Reference(NamedTuple):
    number: int
    key: str
    text: str
    segments: tuple[Segment, ...]


# DOIs and PubMed ids inside a formatted reference become links: the source is one click away.
_LINK_RE = re.compile(r"(https?://[^\s<>\"]+|doi:\s*10\.[^\s<>\"]+|PMID:\s*\d+|PMCID:\s*PMC\d+)",
                      re.IGNORECASE)
#: Hosts that re-post papers without being their publisher (document-sharing and social sites,
#: preview servers). A reference is never linked there: a reader should land on the paper as
#: published, its DOI, or its PubMed record.
_NOT_PUBLISHER_RE = re.compile(
    r"(^|\.)(scribd\.com|studylib\.net|researchgate\.net|academia\.edu|peeref\.com|"
    r"zanotowane\.pl|semanticscholar\.org|docplayer\.[a-z.]+|slideshare\.net|coursehero\.com|"
    r"pdfcoffee\.com|yumpu\.com|dokumen\.pub|scihub|sci-hub)", re.I)


def acceptable_link(url: str | None) -> bool:
    """True for an http(s) address that is a DOI, PubMed/PMC or plausibly a publisher's page."""
    if not url or not SAFE_URL_RE.match(url):
        return False
    host = (urlsplit(url).hostname or "").lower()
    if not host or host.startswith(("dev.", "staging.", "test.")):
        return False
    return not _NOT_PUBLISHER_RE.search(host)


def _href(raw: str) -> str | None:
    low = raw.lower()
    if low.startswith("doi:"):
        return "https://doi.org/" + raw[4:].strip()
    if low.startswith("pmid:"):
        return f"https://pubmed.ncbi.nlm.nih.gov/{raw[5:].strip()}/"
    if low.startswith("pmcid:"):
        return f"https://pmc.ncbi.nlm.nih.gov/articles/{raw[6:].strip()}/"
    return raw if acceptable_link(raw) else None


def reference_segments(text: str, ref: Any) -> tuple[Segment, ...]:
    """The reference text cut into plain and linked pieces.

    A DOI, PubMed id or PMC id in the text is linked to doi.org or NCBI; an address in the text
    only when it is acceptable (:func:`acceptable_link`). A reference whose text carries none of
    these gets its record's DOI, PubMed id or (acceptable) URL appended.
    """
    out: list[Segment] = []
    pos = 0
    for match in _LINK_RE.finditer(text):
        raw = match.group(0)
        while raw and raw[-1] in ".,;)":  # sentence punctuation after a link is not part of it
            raw = raw[:-1]
        href = _href(raw)
        if href is None or not SAFE_URL_RE.match(href):
            continue
        out.append(Segment(text[pos:match.start()]))
        out.append(Segment(raw, href))
        pos = match.start() + len(raw)
    out.append(Segment(text[pos:]))
    segs = [s for s in out if s.text]
    if not any(s.href for s in segs):
        doi = getattr(ref, "doi", None)
        pmid = getattr(ref, "pmid", None)
        url = getattr(ref, "url", None)
        href = (f"https://doi.org/{doi}" if doi else
                f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/" if pmid else
                url if acceptable_link(url) else None)
        if href and SAFE_URL_RE.match(href):
            segs.append(Segment(" "))
            segs.append(Segment(href, href))
    return tuple(segs)


def reference_list(numbers: Mapping[str, int], references: Mapping[str, Any],
                   style: str = "vancouver") -> tuple[Reference, ...]:
    """Formatted, linked references in number order (``numbers``: BibTeX key -> number)."""
    from .evidence.references import format_references

    keys = sorted(numbers, key=numbers.__getitem__)
    refs = [references[k] for k in keys]
    texts = format_references(refs, style=style) if refs else []
    if len(texts) != len(refs):  # pragma: no cover - format_references promises one per reference
        raise RuntimeError("format_references returned a different number of entries")
    texts = [_without_unacceptable_address(t) for t in texts]
    return tuple(Reference(numbers[k], k, t, reference_segments(t, references[k]))
                 for k, t in zip(keys, texts))


_AVAILABLE_RE = re.compile(r"\s*Available from:\s*(\S+?)\.?\s*$")


def _without_unacceptable_address(text: str) -> str:
    # NLM prints "[Internet] ... Available from: URL" for a reference without a DOI. When the only
    # address is a document-sharing copy, the reference is given without it rather than pointing
    # a reader to a page that is not the paper as published (the citation summary keeps the
    # address each number was read from).
    match = _AVAILABLE_RE.search(text)
    if match is None or acceptable_link(match.group(1)):
        return text
    return text[:match.start()].replace(" [Internet]", "").rstrip()
