"""The renderers on their own: readability, escaping, wording and references of the outputs.

These tests use small stand-in claims (the Claim interface: question, title, kind, claim, certainty,
direction, caveats, citations, records) and real :class:`~evidencekit.evidence.bibliography.Reference`
records, so a failure points at the renderer rather than at the claims engine.
"""
from __future__ import annotations

import os
import re
from datetime import date
from types import SimpleNamespace

import pytest

from evidencekit.outputs import build as render
from evidencekit.outputs import leaflet, leaflet_sections, presentation
from evidencekit.evidence.references import Reference
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
    # leaflet title (twice), claim, caveat and reference: each one comes out as text
    assert html.count("&lt;script&gt;") >= 5


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


def test_leaflet_prints_each_claim_with_its_certainty_in_words():
    claims = [_claim(caveats=("The studies were small.",)),
              _claim("whiplash", title="Recovery after whiplash", certainty="very low",
                     direction="unclear", claim="It is not clear whether dry needling helps.",
                     citations=("b2015",))]
    lib = _library(_ref("a2020"), _ref("b2015", title="Whiplash trial"))
    for fmt in ("html", "md"):
        out = render.render_leaflet(claims, lib, fmt)
        for c in claims:
            assert c.claim in out
        assert "The studies were small." in out
        for label, meaning in render.CERTAINTY_WORDS.values():
            assert label in out and meaning in out
        assert "No evidence" in out
        # a compact marker per line; the levels are explained once
        assert "(low certainty)" in out and "(very low certainty, or no study)" in out
        assert out.count(render.CERTAINTY_WORDS["low"][1]) == 1


def test_the_most_certain_claim_comes_first():
    claims = [_claim("a", title="Very low thing", certainty="very low", direction="unclear"),
              _claim("b", title="Nothing known", certainty="very low", direction="no-evidence"),
              _claim("c", title="Moderate thing", certainty="moderate")]
    model = leaflet.leaflet_model(claims, _library(_ref("a2020")))
    lines = [line for block in model.blocks for line in block.lines]
    assert [m.question for m in lines] == ["c", "a", "b"]
    assert [m.number for m in lines] == [1, 2, 3]
    assert lines[2].certainty == "no evidence"


def test_a_shared_caveat_is_said_once_with_the_most_certain_claim():
    shared = "Most studies were small."
    claims = [_claim("a", certainty="very low", direction="unclear",
                     caveats=(shared, "Only one study.")),
              _claim("b", title="Moderate thing", certainty="moderate", caveats=(shared,))]
    model = leaflet.leaflet_model(claims, _library(_ref("a2020")))
    by_question = {b.question: tuple(c.text for c in b.caveats) for b in model.blocks}
    assert by_question == {"b": (shared,), "a": ("Only one study.",)}
    # said with the claim it matters most for, naming every line it applies to
    shared_caveat = model.blocks[0].caveats[0]
    assert shared_caveat.applies_to == (1, 2)
    for fmt in ("html", "md"):
        assert render.render_leaflet(claims, _library(_ref("a2020")), fmt).count(shared) == 1


def test_a_caveat_in_jargon_stays_in_the_leaflet_and_is_warned_about():
    # Dropping a caveat to make the leaflet read better is not allowed: it is kept as written,
    # and the author is told where to reword it.
    claims = [_claim(caveats=("The studies gave only p-values.", "Few people took part."))]
    lib = _library(_ref("a2020"))
    model = leaflet.leaflet_model(claims, lib)
    assert [c.text for c in model.blocks[0].caveats] == ["The studies gave only p-values.",
                                                          "Few people took part."]
    assert [w.words for w in model.jargon_warnings] == [("p-values",)]
    assert model.jargon_warnings[0].file and model.jargon_warnings[0].field
    for fmt in ("html", "md"):
        assert "The studies gave only p-values." in render.render_leaflet(claims, lib, fmt)


def test_comparisons_that_read_the_same_share_one_line_and_keep_their_references():
    a = _claim("pain", citations=("a2020",))
    a.comparison = "a sham"
    b = _claim("pain", citations=("b2015",))
    b.comparison = "no treatment"
    lib = _library(_ref("a2020"), _ref("b2015", title="Second"))
    model = leaflet.leaflet_model([a, b], lib)
    (block,) = model.blocks
    (line,) = block.lines
    assert [(c.text, c.citations) for c in line.comparators] == [("a sham", (1,)),
                                                                  ("no treatment", (2,))]
    md = render.render_leaflet([a, b], lib, "md")
    assert "**Compared with a sham** [1]; **no treatment** [2]" in md
    # different caveats: separate lines, so a caveat is never read against the other one
    b.caveats = ("Only one study.",)
    model = leaflet.leaflet_model([a, b], lib)
    assert len(model.blocks[0].lines) == 2


def test_references_are_numbered_in_the_order_the_key_messages_cite_them():
    claims = [_claim("a", citations=("z2019", "a2020")), _claim("b", citations=("a2020", "m2018"))]
    lib = _library(_ref("a2020"), _ref("m2018", title="Third"), _ref("z2019", title="First"))
    html = render.render_leaflet(claims, lib, "html")
    numbers = re.findall(r'<li id="ref-(\d+)"><span class="ref-num">(\d+)\.</span> ([^<]*)', html)
    assert [(n, m) for n, m, _ in numbers] == [("1", "1"), ("2", "2"), ("3", "3")]
    assert "First" in numbers[0][2] and "Third" in numbers[2][2]
    assert 'href="#ref-1"' in html and 'href="#ref-3"' in html


def test_reference_numbers_are_text_so_a_margin_cannot_cut_their_digits():
    # A list marker sits outside the text box; printed, the first digit of "13." was cut off.
    refs = [_ref(f"r{i:02d}", title=f"Paper {i}") for i in range(1, 15)]
    claims = [_claim(citations=tuple(r.key for r in refs))]
    html = render.render_leaflet(claims, _library(*refs), "html")
    assert '<span class="ref-num">13.</span>' in html
    assert re.search(r"\.references ol \{ list-style: none; padding-left: 0; \}", html)


def test_contrary_studies_are_referenced_but_not_as_support():
    claims = [_claim(citations=("a2020",), contrary=("b2015",))]
    lib = _library(_ref("a2020"), _ref("b2015", title="Whiplash trial"))
    html = render.render_leaflet(claims, lib, "html")
    item = re.search(r'<li value="1">.*?</li>', html, re.S).group(0)
    support, _, rest = item.partition("no worthwhile benefit")
    assert 'href="#ref-1"' in support and 'href="#ref-2"' not in support
    assert 'href="#ref-2"' in rest


def test_the_comparator_is_named_in_words():
    claims = [_claim()]
    lib = _library(_ref("a2020"))
    lib.questions = {"pain": SimpleNamespace(comparator="fake needling", evidence=())}
    assert "Compared with fake needling</strong>" in render.render_leaflet(claims, lib, "html")
    per_comparison = _claim()
    per_comparison.comparison = "exercise alone"  # claims made per comparison carry their own
    assert "**Compared with exercise alone**" in render.render_leaflet([per_comparison], lib, "md")
    both_sides = _claim()
    both_sides.comparison = "dry needling vs exercise alone"
    assert "**Compared with exercise alone**" in render.render_leaflet([both_sides], lib, "md")
    # a claim that already names its comparator is not told it again
    named = _claim(claim="Dry needling may reduce pain. The studies compared it with exercise "
                         "alone.")
    named.comparison = "dry needling vs exercise alone"
    out = render.render_leaflet([named], lib, "md")
    assert "(compared with" not in out and out.count("exercise alone") == 1


def test_a_citation_missing_from_the_references_is_an_error():
    with pytest.raises(InputError, match="not in references.bib"):
        render.render_leaflet([_claim(citations=("ghost2000",))], _library(_ref("a2020")), "html")


def test_unknown_certainty_is_an_error():
    with pytest.raises(InputError, match="certainty"):
        render.render_leaflet([_claim(certainty="certain")], _library(_ref("a2020")), "md")


# ---------------------------------------------------------------------------------------------
# review settings: the topic comes from the evidence folder


def test_review_settings_fill_title_authors_dates_and_the_clinician_word():
    lib = _library(_ref("a2020"))
    lib.settings = {"intervention": "cupping", "intervention_subject": "Cupping",
                    "title": "Cupping for back pain", "authors": ["A. Author", "B. Bee"],
                    "conflicts": "None declared", "search_date": date(2026, 10, 1),
                    "review_date": "2026-11-30", "clinician": "your physiotherapist",
                    "who_should_not": ["people with a bleeding disorder"],
                    "ask_first": ["you take blood thinners"]}
    for fmt in ("html", "md"):
        out = render.render_leaflet([_claim()], lib, fmt)
        assert "Cupping for back pain" in out
        assert "A. Author, B. Bee" in out and "None declared." in out
        assert "2026-10-01" in out and "2026-11-30" in out
        assert "Questions to ask your physiotherapist" in out
        assert "people with a bleeding disorder" in out and "you take blood thinners" in out
    assert "<title>Cupping for back pain</title>" in render.render_leaflet([_claim()], lib, "html")


def test_without_settings_the_topic_comes_from_the_questions_and_gaps_say_so():
    lib = _library(_ref("a2020"))
    lib.questions = {"pain": SimpleNamespace(intervention="spinal manipulation",
                                             comparator="sham", evidence=())}
    out = render.render_leaflet([_claim()], lib, "html")
    assert "<title>Spinal manipulation: what the research says</title>" in out
    assert out.count("not stated") == 4  # authors, conflicts, search date, review date
    # no list of who should not have it is invented: the reader is sent to ask
    assert "do not say who should not have spinal manipulation" in out


def test_natural_frequencies():
    assert presentation.natural_frequency(0.2) == "about 1 in 5"
    assert presentation.natural_frequency(0.33) == "about 1 in 3"
    assert presentation.natural_frequency(0.76) == "about 8 in 10"
    assert presentation.natural_frequency(0.013) == "about 1 in 75"
    assert presentation.natural_frequency(0.0004) == "fewer than 1 in 1,000"
    assert presentation.natural_frequency(0) == "none"
    with pytest.raises(ValueError):
        presentation.natural_frequency(1.5)


def _harm_library(result):
    study = SimpleNamespace(
        id="a2020", short_title="Side effect count", caveats=(), arms=(), results=(result,),
        outcome=lambda oid: SimpleNamespace(instrument="Soreness after treatment"),
        population=SimpleNamespace(n=120))
    question = SimpleNamespace(evidence=(SimpleNamespace(study="a2020", results=(),
                                                          indirect=None),),
                               comparator="no treatment", intervention="cupping")
    lib = _library(_ref("a2020"))
    lib.studies, lib.questions = {"a2020": study}, {"harms": question}
    return lib


def test_side_effects_are_given_as_natural_frequencies_from_single_arm_counts():
    result = SimpleNamespace(id="soreness", outcome="sore", events=24, total=120)
    lib = _harm_library(result)
    claim = _claim("harms", title="Side effects", certainty="low", direction="harm")
    claim.kind = "harm"
    for fmt in ("html", "md"):
        out = render.render_leaflet([claim], lib, fmt)
        assert "Soreness after treatment: about 1 in 5 people" in out
        assert "120 people" in out


def test_a_pooled_proportion_becomes_a_natural_frequency():
    lib = _harm_library(SimpleNamespace(id="x", outcome="sore"))
    claim = _claim("harms", title="Bruising", certainty="low", direction="harm")
    claim.kind = "harm"
    claim.effect = SimpleNamespace(measure="PR", estimate=0.1, k=3, participants=400)
    out = render.render_leaflet([claim], lib, "md")
    assert "Bruising: about 1 in 10 (3 studies, 400 people)" in out


def test_other_options_are_the_active_comparators_the_studies_used():
    arms = (SimpleNamespace(role="intervention", label="Cupping", sham=False),
            SimpleNamespace(role="comparator", label="Exercise therapy", sham=False),
            SimpleNamespace(role="comparator", label="Sham cupping", sham=True),
            SimpleNamespace(role="comparator", label="No treatment", sham=False),
            SimpleNamespace(role="comparator", label="Other treatments", sham=False),
            SimpleNamespace(role="comparator", label="Cupping plus massage", sham=False))
    study = SimpleNamespace(id="a2020", arms=arms, results=())
    lib = _library(_ref("a2020"))
    lib.studies = {"a2020": study}
    settings = presentation.review_settings(SimpleNamespace(settings={"intervention": "cupping"}))
    assert leaflet_sections.other_options([_claim()], lib, settings) == ("Exercise therapy",)


def test_jargon_is_found_as_whole_words_and_abbreviations_in_capitals():
    text = ("The p-values and the SMD came from a meta-analysis (single-blind protocol). "
            "DN and MET, in what we could read. We met a friend; social media.")
    assert presentation.jargon_in(text) == ["p-values", "SMD", "meta-analysis", "single-blind",
                                            "protocol", "DN", "MET", "in what we could read"]
    assert presentation.jargon_in("Fewer people had pain after treatment.") == []


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

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        render.write_atomic(target, "newer")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["leaflet.html"]


def test_pdf_dates_are_normalised_without_moving_bytes():
    pdf = b"%PDF-1.4\n/CreationDate (D:20260101120000+00'00')\n/ModDate (D:20260101120001+00'00')"
    from evidencekit.outputs.pdf import _normalise_pdf

    out = _normalise_pdf(pdf)
    assert len(out) == len(pdf)
    assert b"D:2026" not in out and out.count(b"D:20000101000000") == 2


def test_study_caveats_are_the_clinician_summarys_and_each_is_printed_once():
    study = SimpleNamespace(id="a2020", short_title="Neck trial", design="randomised-trial",
                            population=SimpleNamespace(n=20),
                            caveats=(SimpleNamespace(text="Only 20 people took part."),
                                     SimpleNamespace(text="No fake needling.")))
    question = SimpleNamespace(evidence=(SimpleNamespace(study="a2020", indirect=None),),
                               comparator="sham")
    lib = SimpleNamespace(references={"a2020": _ref("a2020")}, studies={"a2020": study},
                          questions={"pain": question})
    caveats = ("The studies were small.", "Only 20 people took part.", "No fake needling.",
               "Results were measured right after treatment.")
    claim = _claim(caveats=caveats)
    general, by_study = presentation.group_caveats(claim, lib)
    assert general == ("The studies were small.", "Results were measured right after treatment.")
    assert by_study == (("a2020", ("Only 20 people took part.", "No fake needling.")),)
    page = render.render_leaflet([claim], lib, "html")
    assert "Only 20 people took part." not in page and page.count("The studies were small.") == 1
    for fmt in ("html", "md"):
        summary = render.render_clinician_summary([claim], lib, fmt)
        for c in caveats:
            assert summary.count(c) == 1, c


def test_threshold_band_only_where_the_scale_is_the_thresholds():
    # A 5-point band belongs on a 0-100 NDI difference, never on an MD whose scale is not stated
    # (the claims refuse that comparison too) and, as an SMD band, on any SMD.
    from types import SimpleNamespace

    from evidencekit.evidence.records import ImportantEffect
    from evidencekit.outputs.build import _threshold_for

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


# ---------------------------------------------------------------------------------------------
# links and the citation summary


def test_links_go_only_to_doi_pubmed_or_the_publisher():
    from evidencekit.outputs.templating import acceptable_link, reference_segments

    assert acceptable_link("https://www.mdpi.com/2077-0383/9/10/3300")
    for url in ("https://ru.scribd.com/document/1", "https://studylib.net/doc/1",
                "https://www.researchgate.net/publication/1", "https://dev.example-clinic.com/x",
                "javascript:alert(1)", None):
        assert not acceptable_link(url), url
    segs = reference_segments("Smith A. A trial. J. 2020. doi:10.1/x PubMed PMID: 123.", None)
    assert [s.href for s in segs if s.href] == ["https://doi.org/10.1/x",
                                                 "https://pubmed.ncbi.nlm.nih.gov/123/"]
    # no DOI or PMID and a document-sharing copy only: no link, and no address printed
    ref = _ref("a2020", url="https://ru.scribd.com/document/1")
    html = render.render_leaflet([_claim()], _library(ref), "html")
    assert "scribd" not in html


def test_the_mean_difference_is_computed_beside_the_printed_numbers():
    from evidencekit.outputs.citations import computed_mean_difference

    study = SimpleNamespace(arms=(SimpleNamespace(id="t", role="intervention"),
                                  SimpleNamespace(id="c", role="comparator")))
    result = SimpleNamespace(kind="arm-summary", contrast="between-groups", arms=(
        SimpleNamespace(arm="t", mean=3.0, sd=2.0, n=20),
        SimpleNamespace(arm="c", mean=5.0, sd=2.0, n=20)))
    # MD -2, SE sqrt(4/20 + 4/20) = 0.632, 95% CI -3.24 to -0.76 (Cochrane Handbook 6.5.1.1)
    assert computed_mean_difference(result, study).startswith("MD -2.00 (95% CI -3.24 to -0.76)")
    within = SimpleNamespace(kind="arm-summary", contrast="within-group", arms=result.arms)
    assert computed_mean_difference(within, study) is None
    no_sd = SimpleNamespace(kind="arm-summary", contrast="between-groups", arms=(
        SimpleNamespace(arm="t", mean=3.0, sd=None, n=20),
        SimpleNamespace(arm="c", mean=5.0, sd=2.0, n=20)))
    assert computed_mean_difference(no_sd, study) is None


def test_citation_summary_drops_empty_notes_and_has_contents(tmp_path):
    from evidence_fixture import make_evidence
    from evidencekit import load_library, make_claims

    evidence = make_evidence(tmp_path)
    path = evidence / "studies" / "trial2020.yaml"
    path.write_text(path.read_text().replace("note: not in the abstract",
                                             "note: Not in the notes."))
    lib = load_library(evidence)
    text = render.render_citation_summary(lib, make_claims(lib))
    assert "## Contents" in text and "(#study-trial2020)" in text
    assert "Not in the notes" not in text
    assert "- side effects\n" in text  # the item stays, without a note that says nothing
    assert text.index("## [1] ") < text.index("Athlete case reports (cases2019)\n")
