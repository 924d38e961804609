"""Is every number of a record printed in its own provenance quote?

A number in a record must be visible in the verbatim quote that sources it (``-4.4`` / ``−4.4``,
``0.74`` / ``.74``, "Eighty" for 80), or its provenance must say, in ``inference``, that the
value is the reviewers' reading rather than printed. :func:`unprinted_numbers` lists the numbers
that are neither; ``evidencekit validate`` reports each as an error with its file, line and field.
"""
from __future__ import annotations

import math
import re
from typing import Iterator

from .records import (
    ArmEventsResult, ArmSummaryResult, EffectEstimate, Provenance, ProportionResult, PValueResult,
    Study,
)

__all__ = ["normalise", "numbers_in", "printed", "record_numbers", "unprinted_numbers"]


def normalise(text: str) -> str:
    """Unicode minus, curly quotes and Markdown bold to plain forms; whitespace collapsed."""
    text = (text.replace("\u2212", "-")
            .replace("\u201c", '"').replace("\u201d", '"')
            .replace("\u2018", "'").replace("\u2019", "'")
            .replace("**", ""))
    return " ".join(text.split())


_UNITS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen".split())}
_TENS = {w: 10 * i for i, w in enumerate(
    "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()) if w != "_"}
_WORD_NUMBER = re.compile(r"\b(" + "|".join(_TENS) + r")(?:-(" + "|".join(_UNITS) + r"))?\b|\b("
                          + "|".join(_UNITS) + r")\b", re.I)
#: A thousands separator ("7,531") is also read as one number when the groups are exact; the
#: parts are always read on their own too, so a CSV row "2216,29011" shows 2216 and 29011.
_DIGITS = re.compile(r"\d+(?:\.\d+)?|\.\d+")
_THOUSANDS = re.compile(r"(?<![\d.,])\d{1,3}(?:,\d{3})+(?![\d,])")


def numbers_in(quote: str) -> list[float]:
    """Every number printed in ``quote``, with its sign (a hyphen after a digit is a range).

    Thousands separators are read both ways ("7,531" is 7531 and also 7 and 531), so a list
    "3,4" still shows its parts.
    """
    text = normalise(quote)
    out: list[float] = []
    for m in _DIGITS.finditer(text):
        start = m.start()
        if start and (text[start - 1].isdigit() or text[start - 1] == "."):
            continue  # inside a longer number
        candidates = [float(m.group(0))]
        negative = False
        if start and text[start - 1] == "-":
            before = text[start - 2] if start >= 2 else " "
            negative = not (before.isalnum() or before == ")")
        out += [-c if negative else c for c in candidates]
    out += [float(m.group(0).replace(",", "")) for m in _THOUSANDS.finditer(text)]
    for m in _WORD_NUMBER.finditer(text):
        if m.group(3):
            out.append(float(_UNITS[m.group(3).lower()]))
        else:
            out.append(float(_TENS[m.group(1).lower()]
                             + (_UNITS[m.group(2).lower()] if m.group(2) else 0)))
    return out


def printed(value: float, quote: str) -> bool:
    """True when ``value`` is printed in ``quote`` exactly as a number."""
    return any(math.isclose(value, x, rel_tol=0, abs_tol=1e-9) for x in numbers_in(quote))


def record_numbers(study: Study) -> Iterator[tuple[tuple, float, Provenance | None]]:
    """(field location, value, provenance) for every number of a study that must be sourced.

    The location is a tuple path into the study record (``("results", 2, "arms", 0, "mean")``),
    so that validation can name the file's line.
    """
    pop = study.population
    if pop.n is not None:
        yield ("population", "n"), pop.n, pop.provenance
    for i, arm in enumerate(study.arms):
        for name in ("n_randomised", "n_analysed"):
            value = getattr(arm, name)
            if value is not None:
                yield ("arms", i, name), value, arm.provenance
    for i, r in enumerate(study.results):
        where = ("results", i)
        if isinstance(r, EffectEstimate):
            for name in ("estimate", "ci_low", "ci_high", "se", "p_value", "k_studies",
                         "n_participants"):
                value = getattr(r, name)
                if value is not None:
                    yield where + (name,), value, r.provenance
            if "ci_level" in r.model_fields_set:
                yield where + ("ci_level",), r.ci_level * 100, r.provenance
        elif isinstance(r, PValueResult):
            yield where + ("p_value",), r.p_value, r.provenance
        elif isinstance(r, ArmSummaryResult):
            for j, s in enumerate(r.arms):
                for name in ("mean", "sd", "n", "baseline_mean", "baseline_sd"):
                    value = getattr(s, name)
                    if value is None or (name == "sd" and s.sd_imputed):
                        continue
                    yield where + ("arms", j, name), value, r.provenance
        elif isinstance(r, ArmEventsResult):
            for j, s in enumerate(r.arms):
                for name in ("events", "total"):
                    yield where + ("arms", j, name), getattr(s, name), r.provenance
        elif isinstance(r, ProportionResult):
            for name in ("events", "total"):
                yield where + (name,), getattr(r, name), r.provenance


def unprinted_numbers(study: Study) -> list[tuple[tuple, float, str]]:
    """(location, value, quote) of each number neither printed in its quote nor marked inferred."""
    bad = []
    for loc, value, prov in record_numbers(study):
        if prov is None:
            continue  # the record model already requires a provenance for these
        if printed(value, prov.quote) or (prov.inference and prov.inference.strip()):
            continue
        bad.append((loc, value, prov.quote))
    return bad
