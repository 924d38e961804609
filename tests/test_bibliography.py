"""BibTeX in (bibtexparser 2) and formatted references out (citeproc-py) — evidencekit.evidence.bibliography, .latex, .references."""
from __future__ import annotations

import logging

import pytest

from evidencekit.evidence.bibliography import load_bibtex, parse_bibtex
from evidencekit.evidence.latex import latex_to_text
from evidencekit.evidence.references import Reference, format_references
from evidencekit.errors import InputError

BIB = r"""% a comment line: not a problem
@article{hsieh2007,
  author  = {Hsieh, Yueh Ling and Kao, Mu Jung and Kuan, Ta Shen},
  title   = {Dry needling to a key myofascial trigger point may reduce the irritability of
             satellite {MTrPs}},
  journal = {Am J Phys Med Rehabil},
  year    = {2007},
  volume  = {86},
  number  = {5},
  pages   = {397--403}
}

@article{fernandezdelaspenas2021,
  author  = {Fern{\'a}ndez-de-las-Pe{\~n}as, C{\'e}sar and Jean-Pierre Dupont and {World Health Organization}},
  title   = {Dry needling \& manual therapy: {\"U}ber alles},
  journal = {Pain Res Manag},
  year    = {2021},
  doi     = {https://doi.org/10.1155/2021/8836427},
  pmid    = {33603940},
  pmcid   = {PMC7872772}
}

@article{navarrosantana2020,
  author  = {Navarro-Santana, M. J. and others},
  journal = {J Clin Med},
  year    = {2020},
  volume  = {9},
  pages   = {3300}
}
"""


def test_fields_are_decoded_into_a_frozen_reference():
    refs = parse_bibtex(BIB).references
    assert list(refs) == ["hsieh2007", "fernandezdelaspenas2021", "navarrosantana2020"]
    ref = refs["hsieh2007"]
    assert isinstance(ref, Reference)
    assert ref.title == ("Dry needling to a key myofascial trigger point may reduce the "
                         "irritability of satellite MTrPs")
    assert ref.authors == ("Hsieh YL", "Kao MJ", "Kuan TS")
    assert (ref.journal, ref.year, ref.volume, ref.issue, ref.pages) == (
        "Am J Phys Med Rehabil", 2007, "86", "5", "397-403")
    assert ref.line == 2
    with pytest.raises(AttributeError):
        ref.title = "x"  # type: ignore[misc]


def test_latex_accents_names_and_identifiers():
    ref = parse_bibtex(BIB).references["fernandezdelaspenas2021"]
    assert ref.authors == ("Fernández-de-las-Peñas C", "Dupont JP", "World Health Organization")
    assert ref.author_parts[2] == ("World Health Organization", "")  # an organisation
    assert ref.title == "Dry needling & manual therapy: Über alles"
    assert ref.doi == "10.1155/2021/8836427"  # the resolver prefix is removed
    assert (ref.pmid, ref.pmcid) == ("33603940", "PMC7872772")


@pytest.mark.parametrize("latex,text", [
    (r"Pe{\~n}a", "Peña"), (r"M{\"u}ller", "Müller"), (r"\c{c}a", "ça"), (r"{\'\i}ndice", "índice"),
    (r"Gau\ss", "Gauß"), (r"\emph{in vivo}", "in vivo"), (r"10\% of 5--10", "10% of 5\u201310"),
    (r"a~b", "a b"), (r"{{Protected}} Title", "Protected Title"), (r"\{braces\}", "{braces}"),
])
def test_latex_to_text(latex, text):
    assert latex_to_text(latex) == text


def test_and_others_is_kept_as_et_al():
    ref = parse_bibtex(BIB).references["navarrosantana2020"]
    assert ref.authors == ("Navarro-Santana MJ",)
    assert ref.authors_incomplete
    assert ref.short_citation() == "Navarro-Santana et al. 2020"
    (text,) = format_references([ref])
    assert text.startswith("Navarro-Santana MJ, et al. J Clin Med. 2020;9:3300")


def test_short_citation():
    refs = parse_bibtex(BIB).references
    assert refs["hsieh2007"].short_citation() == "Hsieh et al. 2007"
    two = parse_bibtex("@article{a, author={Smith, A and Doe, B}, title={T}, year={2001}}")
    assert two.references["a"].short_citation() == "Smith and Doe 2001"


def test_complete_entries_have_no_messages():
    # navarrosantana2020 has no title (checked below); the other two are complete.
    messages = parse_bibtex(BIB).messages
    assert [m.field for m in messages] == ["navarrosantana2020.title"]


def test_missing_title_author_year_are_warnings_with_lines():
    # navarrosantana2020 has no title: a warning (a title the sources do not give stays missing).
    bib = BIB + "\n@misc{bare,\n  note = {nothing known}\n}\n"
    parsed = parse_bibtex(bib, file="refs.bib")
    assert parsed.errors == ()
    fields = sorted(m.field for m in parsed.warnings)
    assert fields == ["bare.author", "bare.title", "bare.year", "navarrosantana2020.title"]
    bare = [m for m in parsed.warnings if m.field.startswith("bare")]
    assert {m.line for m in bare} == {bib.splitlines().index("@misc{bare,") + 1}
    assert all(m.file == "refs.bib" for m in parsed.messages)


def test_syntax_error_block_is_reported_with_its_line_and_parsing_continues(caplog):
    bib = "@article{broken\n  title = {x}\n}\n\n" + BIB
    with caplog.at_level(logging.DEBUG):
        parsed = parse_bibtex(bib)
    (err,) = parsed.errors
    assert err.line == 1 and err.field == "broken"
    assert "could not be parsed" in err.message and "Expected comma" in err.message
    assert "hsieh2007" in parsed.references  # later entries still read
    # bibtexparser's own log line would repeat the message without the file name
    assert not [r for r in caplog.records if r.name.startswith("bibtexparser")]


def test_unclosed_brace_at_end_of_file():
    parsed = parse_bibtex(BIB + "\n@article{open,\n  title = {never closed\n")
    (err,) = parsed.errors
    assert err.field == "open" and err.line == BIB.count("\n") + 2


def test_duplicate_keys_name_both_lines():
    bib = BIB + "\n@article{hsieh2007,\n  title = {copy}\n}\n"
    (err,) = parse_bibtex(bib).errors
    assert err.field == "hsieh2007"
    assert err.line == bib.count("\n") - 2
    assert "first defined on line 2" in err.message


def test_keys_differing_only_in_case_are_duplicates():
    (err,) = parse_bibtex(BIB + "\n@article{Hsieh2007, title={t}, author={A, B}, year={2007}}\n").errors
    assert "only in case" in err.message and err.field == "Hsieh2007"


def test_duplicate_field():
    (err,) = parse_bibtex("@article{a,\n title={x},\n title={y},\n year={2000}}\n").errors
    assert err.line == 1 and "title" in err.message and "more than once" in err.message


def test_stray_entry_text_is_warned_but_comments_are_not():
    parsed = parse_bibtex("% just a comment\nplain words are a comment too\n\n"
                          "article{nokey, title={x}}\n")
    (warning,) = parsed.warnings
    assert warning.line == 1 and "start it with @" in warning.message


def test_doi_that_is_not_a_doi_is_warned():
    parsed = parse_bibtex("@article{a, author={A, B}, title={t}, year={2000}, doi={PMC123}}")
    (warning,) = parsed.warnings
    assert warning.field == "a.doi"


def test_load_bibtex_reads_and_raises_on_errors(tmp_path):
    good = tmp_path / "good.bib"
    good.write_text(BIB, encoding="utf-8")
    assert list(load_bibtex(good)) == ["hsieh2007", "fernandezdelaspenas2021",
                                       "navarrosantana2020"]
    bad = tmp_path / "bad.bib"
    bad.write_text("@article{broken\n title={x}\n}\n", encoding="utf-8")
    with pytest.raises(InputError, match="could not be parsed") as info:
        load_bibtex(bad)
    assert info.value.line == 1 and info.value.file == str(bad)
    latin = tmp_path / "latin.bib"
    latin.write_bytes("@article{a, title={Peña}}".encode("latin-1"))
    with pytest.raises(InputError, match="UTF-8"):
        load_bibtex(latin)
    with pytest.raises(InputError, match="not found"):
        load_bibtex(tmp_path / "missing.bib")


# ---------------------------------------------------------------------------------------------
# formatting


def test_vancouver_format():
    refs = parse_bibtex(BIB).references
    texts = format_references(refs)
    assert texts[0] == ("Hsieh YL, Kao MJ, Kuan TS. Dry needling to a key myofascial trigger point "
                        "may reduce the irritability of satellite MTrPs. Am J Phys Med Rehabil. "
                        "2007;86(5):397\u2013403.")
    assert texts[1].startswith("Fernández-de-las-Peñas C, Dupont JP, World Health Organization. "
                               "Dry needling & manual therapy: Über alles. Pain Res Manag. 2021.")
    assert "doi:10.1155/2021/8836427" in texts[1]


def test_ama_format_and_numbering():
    refs = parse_bibtex(BIB).references
    texts = format_references(list(refs.values())[:1], style="ama", numbered=True)
    assert texts == ["1. Hsieh YL, Kao MJ, Kuan TS. Dry needling to a key myofascial trigger point "
                     "may reduce the irritability of satellite MTrPs. Am J Phys Med Rehabil. "
                     "2007;86(5):397-403."]


def test_order_is_the_order_given_and_output_is_deterministic():
    refs = list(parse_bibtex(BIB).references.values())
    forward = format_references(refs)
    backward = format_references(refs[::-1])
    assert backward == forward[::-1]
    assert format_references(refs) == forward


def test_plain_text_output_is_not_html():
    # The caller escapes for HTML. The formatter must neither escape (double escaping) nor add
    # markup, so the text here is exactly what the BibTeX says.
    ref = parse_bibtex("@article{x, author={Evil, A}, title={<script>alert(1)</script> & co},"
                       " journal={J}, year={2020}}").references["x"]
    (text,) = format_references([ref])
    assert "<script>alert(1)</script> & co" in text
    assert "&amp;" not in text and "<i>" not in text


def test_format_errors():
    ref = parse_bibtex(BIB).references["hsieh2007"]
    assert format_references([]) == []
    with pytest.raises(InputError, match="unknown citation style"):
        format_references([ref], style="harvard")
    with pytest.raises(InputError, match="twice"):
        format_references([ref, ref])


def test_to_csl_and_to_dict():
    ref = parse_bibtex(BIB).references["fernandezdelaspenas2021"]
    csl = ref.to_csl()
    assert csl["type"] == "article-journal"
    assert csl["author"][0] == {"family": "Fernández-de-las-Peñas", "given": "César"}
    assert csl["author"][2] == {"literal": "World Health Organization"}
    assert csl["DOI"] == "10.1155/2021/8836427"
    d = ref.to_dict()
    assert d["authors"] == list(ref.authors) and d["key"] == ref.key


@pytest.mark.parametrize("latex,text", [
    ("Coetzee & Smith", "Coetzee & Smith"),  # a bare '&' is text in BibTeX, not a LaTeX column
    (r"\mbox{A} \textsc{b}", "A b"), (r"\url{https://x.org/a_b}", "https://x.org/a_b"),
    (r"see \cite{x}", "see x"), (r"{MRI} of the {Knee}", "MRI of the Knee"),
    ("two\n  lines", "two lines"),
])
def test_latex_as_bibtex_values_mean_it(latex, text):
    assert latex_to_text(latex) == text


@pytest.mark.parametrize("hostile", [
    "{" * 5000 + "x", "}" * 100, "\\", r"\href{a}", r"\mbox", r"\url", r"\'" * 3000, "$" * 11,
    r"\begin{itemize}", "\\" * 7 + "{",
])
def test_malformed_latex_gives_text_not_an_exception(hostile):
    assert isinstance(latex_to_text(hostile), str)


def test_values_longer_than_the_latex_limit_only_lose_their_braces():
    from evidencekit.evidence.latex import MAX_LATEX_CHARS

    value = r"{\'e}" * (MAX_LATEX_CHARS // 5 + 1)
    assert latex_to_text(value) == r"\'e" * (MAX_LATEX_CHARS // 5 + 1)
    assert latex_to_text(value[:MAX_LATEX_CHARS]) == "é" * (MAX_LATEX_CHARS // 5)
