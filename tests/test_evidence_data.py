"""The bundled evidence against the research notes it was transcribed from.

Two checks, for every study record in ``evidence/studies``:

1. Every provenance quote (and every authors' conclusion) appears verbatim in the research notes
   (SOURCES.md or REVIEWS.md) after normalising whitespace, the Unicode minus, curly quotes and
   Markdown emphasis. An ellipsis ("..." or "…") in a quote stands for omitted text: the pieces
   must appear in order, close together, in one of the two notes.
2. Every number in a result, an arm summary, an arm or a population appears, as printed, in its
   own provenance quote (-4.4 / −4.4, 0.74 / .74, 112.02, "Eighty" for 80). Where a quote cannot
   contain a value (the value is the reviewers' reading, not printed), the provenance must carry
   an ``inference`` that says so.

The notes are the project's research notes, copied unmodified into ``tests/data/sources`` so that
these tests do not need ``../shared`` (CI may not have it).
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from evidencekit.library import load_library
from evidencekit.records import (
    ArmSummaryResult, EffectEstimate, PValueResult, Provenance, Study,
)

HERE = Path(__file__).parent
SOURCES = HERE / "data" / "sources"
NOTES = ("SOURCES.md", "REVIEWS.md")
EVIDENCE = HERE.parent / "evidence"

#: How far apart (characters of normalised text) the pieces of an elided quote may sit: a quote
#: that skips part of one sentence or table row, not one stitched from distant paragraphs.
MAX_ELISION_GAP = 600


def _normalise(text: str) -> str:
    text = (text.replace("\u2212", "-")                      # Unicode minus -> hyphen-minus
            .replace("\u201c", '"').replace("\u201d", '"')   # curly double quotes
            .replace("\u2018", "'").replace("\u2019", "'")
            .replace("**", ""))                              # Markdown bold in the notes
    return " ".join(text.split())


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


# --- numbers as printed --------------------------------------------------------------------------

_UNITS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen".split())}
_TENS = {w: 10 * i for i, w in enumerate(
    "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()) if w != "_"}
_WORD_NUMBER = re.compile(r"\b(" + "|".join(_TENS) + r")(?:-(" + "|".join(_UNITS) + r"))?\b|\b("
                          + "|".join(_UNITS) + r")\b", re.I)
_DIGITS = re.compile(r"\d+(?:\.\d+)?|\.\d+")


def numbers_in(quote: str) -> list[float]:
    """Every number printed in ``quote``, with its sign (a hyphen after a digit is a range)."""
    text = _normalise(quote)
    out = []
    for m in _DIGITS.finditer(text):
        start = m.start()
        if start and (text[start - 1].isdigit() or text[start - 1] == "."):
            continue  # inside a longer number
        value = float(m.group(0))
        if start and text[start - 1] == "-":
            before = text[start - 2] if start >= 2 else " "
            if not (before.isalnum() or before == ")"):
                value = -value
        out.append(value)
    for m in _WORD_NUMBER.finditer(text):
        if m.group(3):
            out.append(float(_UNITS[m.group(3).lower()]))
        else:
            out.append(float(_TENS[m.group(1).lower()]
                             + (_UNITS[m.group(2).lower()] if m.group(2) else 0)))
    return out


def printed(value: float, quote: str) -> bool:
    return any(math.isclose(value, x, rel_tol=0, abs_tol=1e-9) for x in numbers_in(quote))


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


def numbers(study: Study):
    """(field path, value, provenance) for every number that must be sourced."""
    pop = study.population
    if pop.n is not None:
        yield "population.n", pop.n, pop.provenance
    for arm in study.arms:
        for name in ("n_randomised", "n_analysed"):
            value = getattr(arm, name)
            if value is not None:
                yield f"arms[{arm.id}].{name}", value, arm.provenance
    for r in study.results:
        where = f"results[{r.id}]"
        if isinstance(r, EffectEstimate):
            for name in ("estimate", "ci_low", "ci_high", "se", "p_value", "k_studies",
                         "n_participants"):
                value = getattr(r, name)
                if value is not None:
                    yield f"{where}.{name}", value, r.provenance
            if "ci_level" in r.model_fields_set:
                yield f"{where}.ci_level", r.ci_level * 100, r.provenance
        elif isinstance(r, PValueResult):
            yield f"{where}.p_value", r.p_value, r.provenance
        elif isinstance(r, ArmSummaryResult):
            for s in r.arms:
                for name in ("mean", "sd", "n", "baseline_mean", "baseline_sd"):
                    value = getattr(s, name)
                    if value is None or (name == "sd" and s.sd_imputed):
                        continue
                    yield f"{where}.arms[{s.arm}].{name}", value, r.provenance


STUDIES = sorted(p.stem for p in (EVIDENCE / "studies").glob("*.yaml"))


#: The shared source notes live beside the checkout (``../shared/evidence``) in development and CI;
#: a clone elsewhere has only the bundled copies, which then are the notes.
SHARED_NOTES = HERE.parent.parent / "shared" / "evidence"


def test_the_notes_are_bundled_and_unmodified_copies():
    for name in (*NOTES, "README.md"):
        text = (SOURCES / name).read_text(encoding="utf-8")
        assert text.startswith("# "), name
    if SHARED_NOTES.is_dir():  # where the originals exist, the copies must equal them
        for name in (*NOTES, "README.md"):
            assert (SOURCES / name).read_bytes() == (SHARED_NOTES / name).read_bytes(), (
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
    bad = []
    for where, value, prov in numbers(study):
        assert isinstance(prov, Provenance), f"{where}: a number without provenance"
        if printed(value, prov.quote):
            continue
        if prov.inference and prov.inference.strip():
            continue
        bad.append(f"{where} = {value!r} not in quote {prov.quote!r} and no inference recorded")
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
