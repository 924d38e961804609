"""A study named as people cite it: "Author year".

One rule for every stage that names a study in words (caveats, and the outputs' study labels), so
a study is not "Lew 2021" in one place and "Dry needling vs trigger point manual therapy" in another.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..evidence.library import Library

__all__ = ["study_name"]

#: A short title that ends in its citation: "Six-trial meta-analysis (Lew 2021)".
_TRAILING_CITATION = re.compile(r"\(([^()]*\b\d{4}[a-z]?)\)\s*$")
#: A short title that is itself a citation: "Comstock et al 1974", "Hart & Sutherland 1977".
_ENDS_IN_YEAR = re.compile(r"\b\d{4}[a-z]?\s*$")


def study_name(library: Library, study_id: str) -> str:
    """The study as "Author year": ``'Lew 2021'`` for ``lew2021``.

    Parameters
    ----------
    library
        The loaded library (its ``studies`` and, when present, ``references``).
    study_id
        The study's id (its BibTeX key).

    Returns
    -------
    str
        In order of preference: the citation at the end of the study's short title
        ("... (Lew 2021)"); the short title when it is itself a citation ("Aronson 1948"); the
        BibTeX entry's first author and year (:meth:`Reference.short_citation`); the short title;
        the id.

    Notes
    -----
    The record's own words come first: the short title is written by the person who extracted the
    study and is checked by ``evidencekit validate``, while a BibTeX author list may be
    incomplete or formatted in ways the parser reads differently.
    """
    study = library.studies.get(study_id)
    title = (study.short_title or "") if study is not None else ""
    cited = _TRAILING_CITATION.search(title)
    if cited:
        return cited.group(1)
    if title and _ENDS_IN_YEAR.search(title):
        return title
    reference = (getattr(library, "references", None) or {}).get(study_id)
    if hasattr(reference, "short_citation"):  # a test library may hold bare placeholders
        return reference.short_citation()
    return title or study_id
