"""BibTeX: @string macros resolved as BibTeX does or refused, brace errors that lose fields are errors."""
from __future__ import annotations

import pytest

from evidencekit.evidence.bibliography import MAX_BIB_MESSAGES, parse_bibtex

HEAD = "@string{jpr = {J Pain Res}}\n@string{Full = \"Journal of \" # jpr}\n"


def one(body: str, head: str = HEAD):
    parsed = parse_bibtex(head + body, file="r.bib")
    return parsed, [m for m in parsed.messages if m.severity == "error"]


def test_macros_and_concatenation_resolve_as_bibtex_does():
    parsed, errors = one("@article{a, author = {A, B}, title = \"Part \" # {one} # 2, "
                         "journal = full, year = 2020, month = jan}")
    assert errors == []
    ref = parsed.references["a"]
    assert ref.title == "Part one2" and ref.journal == "Journal of J Pain Res" and ref.year == 2020


@pytest.mark.parametrize("value, says", [
    ("undefinedname", "'undefinedname' is not defined"),
    ("{a} # ", "'#' is not followed by a value"),
    ("{a} {b}", "join parts with '#'"),
    ("jpr # nope", "'nope' is not defined"),
])
def test_unusable_values_are_errors_not_literal_text(value, says):
    parsed, errors = one(f"@article{{a, author = {{A, B}}, title = {{T}}, journal = {value}, "
                         "year = 2020}")
    (err,) = errors
    assert says in err.message and err.field == "a.journal" and err.line == 3
    assert "a" in parsed.broken_keys


def test_recursive_macros_are_one_error_naming_the_loop():
    parsed, errors = one("@article{a, author = {A, B}, title = {T}, journal = x, year = 2020}",
                         head="@string{x = y}\n@string{y = z}\n@string{z = x}\n")
    (err,) = errors
    assert "x -> y -> z -> x" in err.message and err.line == 1


def test_extra_closing_brace_is_an_error_naming_the_lost_fields():
    parsed, errors = one("@article{a,\n  author = {A, B},\n  title = {T}},\n  journal = {J},\n"
                         "  year = {2020},\n  doi = {10.1/x}\n}\n")
    (err,) = errors
    assert err.line == 5 and "journal, year, doi" in err.message
    assert not [m for m in parsed.messages if m.severity == "warning"]


def test_message_count_is_capped():
    body = "".join(f"@article{{k{i}, title = {{T}}, journal = u{i}, year = 2020}}\n"
                   for i in range(MAX_BIB_MESSAGES * 3))
    parsed, errors = one(body)
    assert len(parsed.messages) == MAX_BIB_MESSAGES + 1
    assert parsed.messages[-1].message.startswith("... and ")


def test_too_many_blocks_is_refused_before_parsing():
    parsed = parse_bibtex("@a{" * 30_000, file="r.bib")
    (err,) = parsed.errors
    assert "30,000 blocks" in err.message and parsed.read is False
