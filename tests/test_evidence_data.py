"""The bundled evidence against the research notes it was transcribed from.

These tests are about the bundled review only (``evidence/``): for every study record there,

1. every provenance quote (and every authors' conclusion) appears verbatim in the research notes
   (SOURCES.md or REVIEWS.md) after normalising whitespace, the Unicode minus, curly quotes and
   Markdown emphasis. An ellipsis ("..." or "…") in a quote stands for omitted text: the pieces
   must appear in order, close together, in one of the two notes;
2. every number is printed in its own quote or marked as inferred. That rule is part of
   ``evidencekit validate`` for any evidence folder (:mod:`evidencekit.evidence.quotes`); here it is
   checked on the bundled records through the library, so a regression names the study.

The notes are found beside the repository, in ``<repo>/../shared/evidence``, where the project
keeps them; ``tests/data/sources`` keeps a copy for machines without that folder (CI).
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from evidencekit.validation import load_library
from evidencekit.evidence.quotes import normalise as _normalise, numbers_in, printed, unprinted_numbers
from evidencekit.evidence.records import Study

HERE = Path(__file__).parent
ROOT = HERE.parent
SHARED_NOTES = ROOT.parent / "shared" / "evidence"
BUNDLED_COPY = HERE / "data" / "sources"
SOURCES = SHARED_NOTES if (SHARED_NOTES / "SOURCES.md").is_file() else BUNDLED_COPY
NOTES = ("SOURCES.md", "REVIEWS.md")
EVIDENCE = ROOT / "evidence"

#: How far apart (characters of normalised text) the pieces of an elided quote may sit: a quote
#: that skips part of one sentence or table row, not one stitched from distant paragraphs.
MAX_ELISION_GAP = 600


def _pieces(quote: str) -> list[str]:
    parts = re.split(r"\s*(?:\.\.\.|…)\s*", _normalise(quote))
    return [p for p in parts if p.strip()]


_NOTES_TEXT: dict[str, str] = {}


def _notes() -> dict[str, str]:
    if not _NOTES_TEXT:
        for name in NOTES:
            _NOTES_TEXT[name] = _normalise((SOURCES / name).read_text(encoding="utf-8"))
    return _NOTES_TEXT


def found_verbatim(quote: str) -> bool:
    """True when ``quote`` (ellipses = omitted text) is in one of the notes, pieces in order."""
    pieces = _pieces(quote)
    if not pieces:
        return False
    for text in _notes().values():
        start = text.find(pieces[0])
        while start != -1:
            pos, ok = start + len(pieces[0]), True
            for piece in pieces[1:]:
                nxt = text.find(piece, pos)
                if nxt == -1 or nxt - pos > MAX_ELISION_GAP:
                    ok = False
                    break
                pos = nxt + len(piece)
            if ok:
                return True
            start = text.find(pieces[0], start + 1)
    return False


# --- walking the records ---------------------------------------------------------------------------


def _library():
    return load_library(EVIDENCE)


def provenances(study: Study):
    """(field path, provenance) for every provenance in a study record."""
    if study.population.provenance is not None:
        yield "population", study.population.provenance
    for arm in study.arms:
        if arm.provenance is not None:
            yield f"arms[{arm.id}]", arm.provenance
    for result in study.results:
        yield f"results[{result.id}]", result.provenance
    for k, cav in enumerate(study.caveats):
        if cav.provenance is not None:
            yield f"caveats[{k}]", cav.provenance
    if study.authors_conclusion is not None:
        yield "authors_conclusion", study.authors_conclusion.provenance


STUDIES = sorted(p.stem for p in (EVIDENCE / "studies").glob("*.yaml"))


def test_the_notes_are_bundled_and_unmodified_copies():
    """The bundled copies exist and, where the shared originals are present, equal them."""
    for name in (*NOTES, "README.md"):
        text = (BUNDLED_COPY / name).read_text(encoding="utf-8")
        assert text.startswith("# "), name
    if SHARED_NOTES.is_dir():
        for name in (*NOTES, "README.md"):
            assert (BUNDLED_COPY / name).read_bytes() == (SHARED_NOTES / name).read_bytes(), (
                f"tests/data/sources/{name} differs from {SHARED_NOTES / name}: copy it over and "
                "update the records whose quotes changed")


def test_every_study_file_is_loaded():
    lib = _library()
    assert sorted(lib.studies) == STUDIES
    assert len(STUDIES) >= 28


@pytest.mark.parametrize("key", STUDIES)
def test_provenance_quotes_are_verbatim_in_the_notes(key):
    study = _library().study(key)
    missing = [f"{where}: {prov.quote!r}" for where, prov in provenances(study)
               if not found_verbatim(prov.quote)]
    if study.authors_conclusion is not None and not found_verbatim(study.authors_conclusion.text):
        missing.append(f"authors_conclusion.text: {study.authors_conclusion.text!r}")
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize("key", STUDIES)
def test_every_number_is_printed_in_its_quote_or_marked_as_inferred(key):
    study = _library().study(key)
    bad = [f"{loc} = {value!r} not in quote {quote!r} and no inference recorded"
           for loc, value, quote in unprinted_numbers(study)]
    assert not bad, "\n".join(bad)


# --- the checker itself ------------------------------------------------------------------------


@pytest.mark.parametrize("value, quote", [
    (-4.4, "6 months -4.4 (-9.6 to -0.74)"),
    (-0.74, "6 months -4.4 (-9.6 to -0.74)"),
    (-1.46, "SMD \u22121.46, 95% CI \u22122.25 to \u22120.67"),
    (-0.73, "95% confidence interval [CI], \u22123.10 to \u2212.73"),
    (0.4, "(SMD=1.69; 95% CI, .40\u20132.98; P=.01)"),
    (2.98, "(SMD=1.69; 95% CI, .40\u20132.98; P=.01)"),
    (112.02, "(MD 112.02 kPa, 95% CI 27.99 to 196.06)"),
    (0.32, "P=0.320"),
    (80, "Eighty patients with chronic WAD"),
    (28, "Twenty-eight trials were finally included."),
    (5, "(5RCTs: SMD: -0.27; [-0.49, -0.05]"),
    (-0.05, "(5RCTs: SMD: -0.27; [-0.49, -0.05]"),
])
def test_numbers_are_read_as_printed(value, quote):
    assert printed(value, quote)


@pytest.mark.parametrize("value, quote", [
    (4.4, "6 months -4.4 (-9.6 to -0.74)"),    # the sign matters
    (-30, "aged 18-30"),                        # a range, not a negative number
    (-2.98, "95% CI, .40\u20132.98"),           # an en dash between limits is not a minus
    (7.4, "0.74"),                              # the scale matters
    (0.74, "-0.74"),
])
def test_numbers_not_printed_are_not_found(value, quote):
    assert not printed(value, quote)


def test_elided_quotes_must_be_in_order_and_close():
    assert found_verbatim("Eighty patients with chronic WAD ... 1-year follow-up completed")
    assert not found_verbatim("1-year follow-up completed ... Eighty patients with chronic WAD")
    assert not found_verbatim("Eighty patients ... Dunning 2014")  # far apart in the notes
    assert not found_verbatim("Eighty patients with chronic whiplash")  # not verbatim
