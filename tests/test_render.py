"""render.py on its own: readability, escaping, wording and references of the leaflet.

These tests use small stand-in claims (the Claim interface: question, title, kind, claim, certainty,
direction, caveats, citations, records) and real :class:`~evidencekit.bibliography.Reference`
records, so a failure points at the renderer rather than at the claims engine.
"""
from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from evidencekit import render
from evidencekit.bibliography import Reference
from evidencekit.errors import InputError

SCRIPT = '<script>alert("x")</script>'


def _claim(qid="pain", *, title="Pain after a few weeks", claim="Dry needling may reduce pain.",
           certainty="low", direction="benefit", caveats=("The studies were small.",),
           citations=("a2020",), contrary=()):
    return SimpleNamespace(question=qid, title=title, kind="benefit", claim=claim,
                           certainty=certainty, direction=direction, caveats=tuple(caveats),
                           citations=tuple(citations), records=(), contrary_citations=tuple(contrary))


def _ref(key, title="A trial of dry needling", **kw):
    return Reference(key=key, entry_type="article", title=title,
                     authors=("Smith AB",), author_parts=(("Smith", "Anna B"),),
                     journal="Pain J", year=2020, volume="1", pages="1-9", **kw)


def _library(*refs):
    return SimpleNamespace(references={r.key: r for r in refs}, studies={}, questions={})


# ---------------------------------------------------------------------------------------------
# readability


def test_reading_grade_matches_textstat_without_a_pronouncing_dictionary():
    """Our grade is textstat's Flesch-Kincaid on its pyphen path (the path it takes offline)."""
    textstat = pytest.importorskip("textstat")
    ts = type(textstat.textstat)()  # a private instance: the global one keeps its language
    # A language code whose root is not "en" keeps textstat off NLTK's CMU dictionary (which it
    # would try to download); its syllables then come from pyphen en_US, as ours do.
    ts.set_lang("en-US")
    texts = [
        "Dry needling may reduce neck pain a little for a few weeks.",
        "The evidence is very uncertain about whether dry needling speeds up recovery after "
        "whiplash. Only 80 people took part.",
        "Results were measured right after treatment. We do not know if they lasted.",
    ]
    for text in texts:
        assert render.reading_grade(text) == pytest.approx(round(ts.flesch_kincaid_grade(text), 1),
                                                           abs=0.051)


def test_reading_grade_of_empty_text_is_zero():
    assert render.reading_grade("") == 0.0
    assert render.reading_grade("   ...  ") == 0.0


def test_claim_readability_grades_claim_and_every_caveat():
    easy = _claim(claim="Dry needling may help a bit.", caveats=("Few people took part.",))
    assert render.claim_readability(easy).status == "ok"
    hard_caveat = ("Methodological heterogeneity, unexplained inconsistency and considerable "
                   "imprecision substantially undermine interpretability of the aggregated "
                   "standardised mean differences reported by contemporaneous systematic reviews")
    hard = _claim(claim="Dry needling may help a bit.", caveats=("Few people took part.", hard_caveat))
    result = render.claim_readability(hard)
    assert result.grade > render.READABILITY_LIMIT
    assert result.status == "too hard"
    assert result.question == "pain"


def test_caveats_without_full_stops_are_graded_as_separate_sentences():
    # Without the stop the three caveats would count as one long sentence and inflate the grade.
    c = _claim(caveats=("Few people took part", "No sham was used", "Follow-up was short"))
    joined = _claim(caveats=("Few people took part. No sham was used. Follow-up was short.",))
    assert render.claim_readability(c).grade == render.claim_readability(joined).grade


# ---------------------------------------------------------------------------------------------
# escaping


def test_md_escape_keeps_markup_as_text():
    assert render.md_escape(SCRIPT) == '\\<script\\>alert("x")\\</script\\>'
    assert render.md_escape("*bold* _it_ [link](x) `code`") == \
        "\\*bold\\* \\_it\\_ \\[link\\](x) \\`code\\`"
    # A newline cannot start a new Markdown block (a heading, a list, raw HTML).
    assert render.md_escape("one\n# two\n\n<div>") == "one # two \\<div\\>"
    assert render.md_escape(None) == ""


def test_md_link_only_links_plain_http_addresses():
    assert render.md_link("https://pubmed.ncbi.nlm.nih.gov/25790454/") == \
        "<https://pubmed.ncbi.nlm.nih.gov/25790454/>"
    assert render.md_link("javascript:alert(1)") == "javascript:alert(1)"
    assert render.md_link("Table 3, row 'NDI' <b>") == "Table 3, row 'NDI' \\<b\\>"


def test_every_value_in_the_html_leaflet_is_escaped():
    claims = [_claim(title=f"Pain {SCRIPT}", claim=f"Dry needling may reduce pain. {SCRIPT}",
                     caveats=(f"Small study {SCRIPT}.",))]
    html = render.render_leaflet(claims, _library(_ref("a2020", title=f"Trial {SCRIPT}")), "html",
                                 title=f"Leaflet {SCRIPT}")
    assert "<script" not in html.lower()
    # title, claim, caveat, summary and reference: each one comes out as text
    assert html.count("&lt;script&gt;") >= 6


def test_every_value_in_the_markdown_leaflet_is_escaped():
    claims = [_claim(title=f"Pain {SCRIPT}", caveats=(f"Small study {SCRIPT}.",))]
    md = render.render_leaflet(claims, _library(_ref("a2020", title=f"Trial {SCRIPT}")), "md")
    assert not re.search(r"(?<!\\)<script", md, re.I), "an unescaped <script> in Markdown"
    assert "\\<script\\>" in md


def test_reference_links_are_http_only():
    ref = _ref("a2020", doi="10.1/x", url="javascript:alert(1)")
    html = render.render_leaflet([_claim()], _library(ref), "html")
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert hrefs, "the leaflet has links"
    assert all(h.startswith("#") or h.startswith("https://") for h in hrefs), hrefs
    assert 'href="https://doi.org/10.1/x"' in html


# ---------------------------------------------------------------------------------------------
# wording, certainty, references


def test_leaflet_prints_claim_certainty_in_words_and_every_caveat():
    caveats = tuple(f"Caveat number {i} says something." for i in range(12))
    claims = [_claim(caveats=caveats),
              _claim("whiplash", title="Recovery after whiplash", certainty="very low",
                     direction="unclear", claim="It is not clear whether dry needling helps.",
                     citations=("b2015",))]
    lib = _library(_ref("a2020"), _ref("b2015", title="Whiplash trial"))
    for fmt in ("html", "md"):
        out = render.render_leaflet(claims, lib, fmt)
        for c in claims:
            assert c.claim in out
            for caveat in c.caveats:
                assert caveat in out
        assert "Low: further research is likely to change this." in out
        assert "Very low: we are very unsure about this." in out
        assert "How sure are we?" in out


def test_summary_separates_what_is_known_from_what_is_not():
    claims = [_claim("a", title="Known thing"),
              _claim("b", title="Unknown thing", certainty="very low", direction="benefit"),
              _claim("c", title="No studies", certainty="very low", direction="no-evidence",
                     citations=())]
    model = render._leaflet_model(claims, _library(_ref("a2020")), title="t")
    assert [s.question for s in model["known"]] == ["a"]
    assert [s.question for s in model["unknown"]] == ["b", "c"]


def test_references_are_numbered_in_order_of_first_citation_and_linked():
    claims = [_claim("a", citations=("z2019", "a2020")), _claim("b", citations=("a2020", "m2018"))]
    lib = _library(_ref("a2020"), _ref("m2018", title="Third"), _ref("z2019", title="First"))
    html = render.render_leaflet(claims, lib, "html")
    numbers = re.findall(r'<li id="ref-(\d+)" value="\d+">([^<]*)', html)
    assert [n for n, _ in numbers] == ["1", "2", "3"]
    assert "First" in numbers[0][1] and "Third" in numbers[2][1]
    # each claim links to its references
    assert 'href="#ref-1"' in html and 'href="#ref-3"' in html


def test_contrary_studies_are_referenced_but_not_as_support():
    claims = [_claim(citations=("a2020",), contrary=("b2015",),
                     caveats=("One study did not find a worthwhile benefit: Whiplash trial.",))]
    lib = _library(_ref("a2020"), _ref("b2015", title="Whiplash trial"))
    html = render.render_leaflet(claims, lib, "html")
    claim_p = re.search(r'<p class="claim">.*?</p>', html, re.S).group(0)
    assert 'href="#ref-1"' in claim_p and 'href="#ref-2"' not in claim_p
    assert re.search(r'did not find a worthwhile benefit: <span class="cite">\[<a href="#ref-2"',
                     html)


def test_a_citation_missing_from_the_references_is_an_error():
    with pytest.raises(InputError, match="not in references.bib"):
        render.render_leaflet([_claim(citations=("ghost2000",))], _library(_ref("a2020")), "html")


def test_unknown_certainty_is_an_error():
    with pytest.raises(InputError, match="certainty"):
        render.render_leaflet([_claim(certainty="certain")], _library(_ref("a2020")), "md")


# ---------------------------------------------------------------------------------------------
# the HTML document


def test_html_is_self_contained_accessible_and_printable():
    html = render.render_leaflet([_claim()], _library(_ref("a2020", doi="10.1/x")), "html")
    assert re.search(r'<html lang="en">', html)
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert '<meta charset="utf-8">' in html
    assert html.count("<h1>") == 1 and "<h2" in html
    assert "@media print" in html
    # no network loads: no external stylesheets, scripts, fonts, images or frames
    lowered = html.lower()
    for needle in ("<script", "<link", "<img", "<iframe", "@import", "url(", " src="):
        assert needle not in lowered, needle


def test_writing_is_atomic_and_leaves_no_temporary_files(tmp_path, monkeypatch):
    target = tmp_path / "leaflet.html"
    target.write_text("old")
    render.write_atomic(target, "new")
    assert target.read_text() == "new"

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(render.os, "replace", broken_replace)
    with pytest.raises(OSError):
        render.write_atomic(target, "newer")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["leaflet.html"]


def test_pdf_dates_are_normalised_without_moving_bytes():
    pdf = b"%PDF-1.4\n/CreationDate (D:20260101120000+00'00')\n/ModDate (D:20260101120001+00'00')"
    out = render._normalise_pdf(pdf)
    assert len(out) == len(pdf)
    assert b"D:2026" not in out and out.count(b"D:20000101000000") == 2


def test_grouping_caveats_by_study_keeps_every_caveat_once_in_order():
    study = SimpleNamespace(id="a2020", short_title="Neck trial",
                            caveats=(SimpleNamespace(text="Only 20 people took part."),
                                     SimpleNamespace(text="No fake needling.")))
    question = SimpleNamespace(evidence=(SimpleNamespace(study="a2020"),))
    lib = SimpleNamespace(references={"a2020": _ref("a2020")}, studies={"a2020": study},
                          questions={"pain": question})
    caveats = ("The studies were small.", "Only 20 people took part.", "No fake needling.",
               "Results were measured right after treatment.")
    claim = _claim(caveats=caveats)
    model = render._leaflet_model([claim], lib, title="t")
    section = model["sections"][0]
    assert section.general == ("The studies were small.",
                               "Results were measured right after treatment.")
    assert section.by_study == (("Neck trial", 1, ("Only 20 people took part.", "No fake needling.")),)
    html = render.render_leaflet([claim], lib, "html")
    for c in caveats:
        assert html.count(f"<li>{c}</li>") == 1


def test_threshold_band_only_where_the_scale_is_the_thresholds():
    # A 5-point band belongs on a 0-100 NDI difference, never on an MD whose scale is not stated
    # (the claims refuse that comparison too) and, as an SMD band, on any SMD.
    from types import SimpleNamespace

    from evidencekit.records import ImportantEffect
    from evidencekit.render import _threshold_for

    q = SimpleNamespace(important_effect=ImportantEffect(
        value=5, scale="points on the 0-100 Neck Disability Index", smd=0.5, author_judgement=True))
    ndi = SimpleNamespace(scale="0-100 (as printed)")
    unstated = SimpleNamespace(scale="not stated in the excerpt")
    assert _threshold_for(q, "MD", ndi)["value"] == 5
    assert "our judgement" in _threshold_for(q, "MD", ndi)["label"]
    assert _threshold_for(q, "MD", unstated) is None
    assert _threshold_for(q, "MD", SimpleNamespace(scale="0-10")) is None
    assert _threshold_for(q, "SMD", unstated)["value"] == 0.5
    assert _threshold_for(SimpleNamespace(important_effect=None), "SMD", ndi) is None
