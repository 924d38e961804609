"""References out: the typed BibTeX entry (:class:`Reference`) and its formatting with citeproc-py.

References are formatted with citeproc-py and the CSL styles shipped in ``evidencekit/csl/``
(Vancouver = NLM citation-sequence, AMA). Formatting uses citeproc's *plain* formatter: the
strings returned are text, not HTML, and the caller escapes them for HTML (citeproc's html
formatter does not escape, so using it would let a ``<script>`` in a title through).

Reading BibTeX into references is :mod:`evidencekit.evidence.bibliography`.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from importlib import resources

from ..errors import InputError

__all__ = ["Reference", "format_references", "STYLES"]

#: Citation styles shipped with the package: name -> CSL file in ``evidencekit/csl/``.
STYLES = {
    "vancouver": "nlm-citation-sequence.csl",
    "nlm": "nlm-citation-sequence.csl",
    "ama": "american-medical-association.csl",
}

# BibTeX entry type -> CSL item type. Anything else is formatted as a journal article, which is
# what almost every entry in a clinical bibliography is.
_CSL_TYPES = {
    "article": "article-journal",
    "book": "book",
    "inbook": "chapter",
    "incollection": "chapter",
    "inproceedings": "paper-conference",
    "conference": "paper-conference",
    "techreport": "report",
    "report": "report",
    "phdthesis": "thesis",
    "mastersthesis": "thesis",
    "thesis": "thesis",
    "online": "webpage",
    "misc": "article",
    "unpublished": "manuscript",
}


@dataclass(frozen=True)
class Reference:
    """One bibliography entry, decoded from BibTeX into plain Unicode text.

    Attributes
    ----------
    key
        The BibTeX key (a study's ``id``).
    entry_type
        BibTeX entry type in lower case (``article``, ``book``, ...).
    title, journal
        Text with LaTeX accents and protective braces removed.
    authors
        ``"Surname AB"`` strings in Vancouver form (initials without stops).
    year
        Publication year, ``None`` when the entry has no usable year.
    volume, issue, pages, doi, pmid, pmcid, url
        As in the entry (``issue`` also reads BibTeX's ``number``); ``None`` when absent.
    line
        1-based line of the entry in its file, for messages.
    authors_incomplete
        True when the author list ends in ``and others``: formatted references then end the
        author list with "et al." rather than pretend the list is complete.
    note
        The entry's ``note`` (e.g. which fields could not be verified).
    author_parts
        ``(family, given)`` per author as written in the BibTeX; ``given`` is empty for an
        organisation. Kept so that citation styles can initialise names their own way.
    """

    key: str
    entry_type: str
    title: str | None
    authors: tuple[str, ...] = ()
    journal: str | None = None
    year: int | None = None
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    doi: str | None = None
    pmid: str | None = None
    pmcid: str | None = None
    url: str | None = None
    line: int | None = None
    author_parts: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    authors_incomplete: bool = False
    note: str | None = field(default=None, repr=False)

    def short_citation(self) -> str:
        """``"Hsieh et al. 2007"``: first author's surname, "et al." when there are more, year."""
        if self.author_parts:
            first = self.author_parts[0][0]
        elif self.authors:
            first = self.authors[0].rsplit(" ", 1)[0]
        else:
            first = self.key
        etal = " et al." if len(self.authors) > 2 or self.authors_incomplete else (
            f" and {self.author_parts[1][0]}" if len(self.author_parts) == 2 else "")
        return f"{first}{etal} {self.year}" if self.year else f"{first}{etal}"

    def to_dict(self) -> dict:
        """Plain-JSON form (lists instead of tuples)."""
        d = asdict(self)
        d["authors"] = list(self.authors)
        d["author_parts"] = [list(p) for p in self.author_parts]
        return d

    def to_csl(self) -> dict:
        """CSL-JSON item for citeproc-py (https://citeproc-js.readthedocs.io/en/latest/csl-json/)."""
        item: dict = {"id": self.key, "type": _CSL_TYPES.get(self.entry_type, "article")}
        if self.title:
            item["title"] = self.title
        names = []
        for family, given in self.author_parts:
            if given:
                # The full given name lets each style initialise it its own way ("YL", "Y.L.").
                names.append({"family": family, "given": given})
            else:
                names.append({"literal": family})
        if names and self.authors_incomplete:
            names.append({"literal": "et al."})
        if names:
            item["author"] = names
        if self.journal:
            item["container-title"] = self.journal
        if self.year:
            item["issued"] = {"date-parts": [[self.year]]}
        for csl_name, value in (("volume", self.volume), ("issue", self.issue),
                                ("page", self.pages), ("DOI", self.doi), ("PMID", self.pmid),
                                ("PMCID", self.pmcid), ("URL", self.url)):
            if value:
                item[csl_name] = value
        return item


def _style_path(style: str) -> str:
    name = STYLES.get(style.lower())
    if name is None:
        raise InputError(f"unknown citation style {style!r}; choose one of "
                         f"{', '.join(sorted(STYLES))}")
    return str(resources.files("evidencekit").joinpath("csl", name))


def format_references(refs: Iterable[Reference] | Mapping[str, Reference],
                      style: str = "vancouver", *, numbered: bool = False) -> list[str]:
    """Format references as plain-text bibliography entries.

    Parameters
    ----------
    refs
        References in citation order (a mapping is read in its order).
    style
        ``"vancouver"`` (NLM citation-sequence, the default) or ``"ama"``.
    numbered
        Prefix each entry with its number (``"1. "``). Off by default so that a renderer can
        number them itself (e.g. in an HTML ordered list).

    Returns
    -------
    list of str
        One entry per reference, in the order given. Plain text: escape before putting in HTML.

    Notes
    -----
    Uses citeproc-py with the CSL styles in ``evidencekit/csl/`` and its plain formatter. The output
    depends only on the references and the style, so two runs give the same text.
    """
    from citeproc import (Citation, CitationItem, CitationStylesBibliography,
                          CitationStylesStyle, formatter)
    from citeproc.source.json import CiteProcJSON

    items = list(refs.values()) if isinstance(refs, Mapping) else list(refs)
    if not items:
        return []
    keys = [r.key for r in items]
    if len(set(keys)) != len(keys):
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        raise InputError(f"the same reference is listed twice: {', '.join(dupes)}")
    source = CiteProcJSON([r.to_csl() for r in items])
    csl = CitationStylesStyle(_style_path(style), validate=False)
    bibliography = CitationStylesBibliography(csl, source, formatter.plain)
    for ref in items:
        bibliography.register(Citation([CitationItem(ref.key)]))
    # Citation-sequence styles number in citation order, which is the order registered here.
    out = []
    for number, entry in enumerate(bibliography.bibliography(), start=1):
        text = re.sub(r"^\s*\d+\.\s*", "", str(entry)).strip()
        # A reference with no usable fields formats as nothing; the key at least says which one.
        text = re.sub(r"\s+", " ", text) or items[number - 1].key
        out.append(f"{number}. {text}" if numbered else text)
    return out
