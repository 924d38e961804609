"""Tests for evidencekit.audit: verdicts, non-claims, offsets, formats, encodings, lexicon, CLI."""
from __future__ import annotations

import dataclasses
import json
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _audit_support import bundled_topics, real_claims, stand_in_claims  # noqa: E402

from evidencekit.audit import (  # noqa: E402
    AuditReport, html_to_text, load_lexicon, read_page,
)
from evidencekit.audit import audit_text as _audit_text  # noqa: E402


def audit_text(text, claims, **kw):
    """The audit with the bundled review's topic file, as `evidencekit audit --evidence evidence`."""
    kw.setdefault("topics", bundled_topics())
    return _audit_text(text, claims, **kw)
from evidencekit.errors import InputError  # noqa: E402

PAGES = Path(__file__).parent / "audit_pages"
LEXICON = Path(__file__).parents[1] / "src" / "evidencekit" / "data" / "audit_lexicon.yaml"


@pytest.fixture(scope="module")
def claims():
    return stand_in_claims()


def _audit_file(name, claims):
    source, fmt = read_page(PAGES / name)
    return audit_text(source, claims, source_format=fmt), source, fmt


def _verdict_of(report, fragment):
    hits = [f for f in report.findings if fragment in f.text]
    assert len(hits) == 1, (fragment, [f.text for f in report.findings])
    return hits[0].verdict


# --- verdicts on pages written for the purpose ------------------------------------------------

TEXT_EXPECTED = {
    "may reduce neck pain in the first weeks": "supported",
    "relieves neck pain for good and is highly effective": "overstated",
    "Studies prove that every patient improves": "overstated",
    "speeds up recovery from whiplash": "contradicted",
    "exactly 6 sessions": "unsupported",
    "flushes out toxins and resets the muscle": "mechanism-as-fact",
    "it can cause bruising or soreness": "supported",
}


def test_text_page_has_every_verdict(claims):
    report, source, fmt = _audit_file("verdicts.txt", claims)
    assert fmt == "text"
    for fragment, verdict in TEXT_EXPECTED.items():
        assert _verdict_of(report, fragment) == verdict, fragment
    assert len(report.findings) == len(TEXT_EXPECTED)  # nothing else: procedure, clinic, booking
    assert {f.verdict for f in report.findings} == {"supported", "overstated", "unsupported",
                                                    "contradicted", "mechanism-as-fact"}


def test_procedure_and_logistics_are_not_claims(claims):
    report, _, _ = _audit_file("verdicts.txt", claims)
    texts = " ".join(f.text for f in report.findings)
    for neutral in ("cleans the skin", "left in for 30 to 60 seconds", "schedule your first",
                    "Our physiotherapists use dry needling"):
        assert neutral not in texts


def test_markdown_page(claims):
    report, source, fmt = _audit_file("verdicts.md", claims)
    assert fmt == "markdown"
    assert report.text == source  # Markdown offsets index into the file as read
    expected = {
        "*may* reduce neck pain": "supported",
        "**dramatically reduces** pain": "overstated",
        "recover faster": "contradicted",
        "A course of 4 sessions": "unsupported",
        "releases the knots and resets the muscle": "mechanism-as-fact",
    }
    for fragment, verdict in expected.items():
        assert _verdict_of(report, fragment) == verdict, fragment
    assert len(report.findings) == len(expected)  # not the heading, the steps, the code block
    assert not any("code block" in f.text for f in report.findings)
    for f in report.findings:
        assert source[f.start:f.end] == f.text
        assert not f.text.startswith(("-", "*", " "))


def test_html_page_strips_tags_scripts_and_styles(claims):
    report, source, fmt = _audit_file("verdicts.html", claims)
    assert fmt == "html"
    assert report.text == html_to_text(source)
    for hidden in ("guaranteed to cure", "proves everything", "relieves all pain instantly",
                   "enable JavaScript", "font-family", "<", "&amp;", "&nbsp;"):
        assert hidden not in report.text.replace("<friendly>", ""), hidden
    assert "Dry needling & your neck" in report.text  # entities decoded
    assert "<friendly>" in report.text
    expected = {
        "may reduce neck pain": "supported",
        "safe and effective for everyone": "overstated",
        "speeds up recovery after whiplash": "contradicted",
        "You will need 8 sessions": "unsupported",
        "resets the muscle and flushes out toxins": "mechanism-as-fact",
    }
    for fragment, verdict in expected.items():
        assert _verdict_of(report, fragment) == verdict, fragment
    assert len(report.findings) == len(expected)
    for f in report.findings:
        assert report.text[f.start:f.end] == f.text


def test_sentence_in_two_html_lines_is_one_sentence(claims):
    report = audit_text("<p>Dry needling\nrelieves pain\nfor everyone.</p>", claims,
                        source_format="html")
    assert [f.text for f in report.findings] == ["Dry needling relieves pain for everyone."]


# --- wording strength on the claims' own ladder ---------------------------------------------


def test_claims_own_wording_is_never_flagged(claims):
    """Every generated claim, audited, reads as supported (or as a non-claim): one ladder."""
    for c in claims:
        report = audit_text(c.claim, claims)
        assert all(f.verdict == "supported" for f in report.findings), (c.question, report.findings)


def test_real_claims_wording_is_never_flagged():
    real = real_claims()  # raises when evidence/ does not load: a failure, not a skip
    for c in real:
        report = audit_text(c.claim, real)
        bad = [(f.text, f.verdict, f.reason) for f in report.findings if f.verdict != "supported"]
        assert not bad, (c.question, bad)


@pytest.mark.parametrize("sentence, verdict", [
    ("Dry needling may reduce neck pain.", "supported"),
    ("Dry needling probably reduces neck pain.", "overstated"),     # low certainty allows "may"
    ("Dry needling reduces neck pain.", "overstated"),
    ("Dry needling is proven to reduce neck pain.", "overstated"),
    ("The evidence is very uncertain about whether dry needling helps you recover after whiplash.",
     "supported"),
    ("Dry needling did not speed up recovery after whiplash in a large trial.", "supported"),
    ("Dry needling may speed up recovery after whiplash.", "contradicted"),
    ("We found no studies on how many sessions are needed.", "supported"),
    ("Three sessions are needed.", "unsupported"),
    ("Dry needling disrupts the motor endplate.", "mechanism-as-fact"),
])
def test_single_sentences(claims, sentence, verdict):
    report = audit_text(sentence, claims)
    assert [f.verdict for f in report.findings] == [verdict], report.findings


# --- rules added after the first held-out measurement (docs/audit.md, "Held-out evaluation") --
# Each case is a sentence written for this test, not taken from a sample page.


def _one(sentence, claims, **kw):
    findings = audit_text(sentence, claims, **kw).findings
    assert len(findings) <= 1, findings
    return findings[0] if findings else None


@pytest.mark.parametrize("sentence, verdict", [
    # gapped benefit phrases (`eas* ...3 pain`, `less ...2 pain*`, `better ...2 movement`)
    ("Dry needling eases stubborn neck pain.", "overstated"),
    ("Expect less shoulder pain and stiffness.", "overstated"),
    ("Patients enjoy better neck movement.", "overstated"),
    ("Office workers respond well to it.", "overstated"),
    ("People with a sore neck usually feel better after it.", "overstated"),
    ("It gets you back to work sooner.", "unsupported"),       # return to work: no question
    ("Dry needling keeps you playing all season.", "overstated"),
    ("Most clients find the relief is long-lasting.", "overstated"),  # durable: an absolute
    ("You may notice lasting relief.", "overstated"),          # durable effects are absolutes
])
def test_gapped_and_everyday_benefit_phrases(claims, sentence, verdict):
    f = _one(sentence, claims)
    assert f is not None and f.verdict == verdict, (sentence, f)


def test_gap_width_is_part_of_the_phrase(claims):
    # `less ...2 pain*` allows two words in between, not more
    assert _one("There is less time to wait and your therapist discusses pain with you.",
                claims) is None
    assert _one("Enjoy less nagging back pain.", claims).verdict == "overstated"


@pytest.mark.parametrize("sentence", [
    "Most patients need four to six sessions.",
    "Expect results within two visits.",
    "Older injuries often need more sessions than new ones.",
])
def test_session_counts_in_words(claims, sentence):
    f = _one(sentence, claims)
    assert f is not None and f.verdict == "unsupported" and f.questions == ("sessions",), f


def test_course_of_treatment_does_not_outrank_a_benefit_claim(claims):
    f = _one("You may have less neck pain after a course of treatment.", claims)
    assert f.verdict == "supported" and "sessions" not in f.questions, f
    # alone it is still a dose claim
    assert _one("A course of treatment is usually needed.", claims).verdict == "unsupported"


@pytest.mark.parametrize("sentence", [
    "Needling boosts circulation to the muscle.",
    "The needle washes away irritating chemicals.",
    "It switches off the overactive muscle fibres.",
    "Your body responds by producing endorphins.",
    "Treatment targets the root cause of your pain.",
    "Knotted muscles keep firing signals to the spinal cord.",
])
def test_more_mechanism_phrases(claims, sentence):
    f = _one(sentence, claims)
    assert f is not None and f.verdict == "mechanism-as-fact", (sentence, f)


def test_reference_list_entries_are_not_claims(claims):
    page = ("Dry needling may reduce neck pain.\n\n"
            "Sources\n\n"
            "1. Doe J, Roe R. Needling reduces pain and cures stiffness. J Pain Res. 2019;12(3):45-50.\n"
            "2. Poe A, et al. Needling is highly effective. Pain Med. 2020;21:100-110.\n\n"
            "Contact\n\n"
            "Dry needling cures back pain.\n")
    report = audit_text(page, claims)
    assert [f.text for f in report.findings] == ["Dry needling may reduce neck pain.",
                                                 "Dry needling cures back pain."]
    # a citation-shaped line is skipped even without a heading; prose that names a study is not
    page = ("Smith AB, Jones C. Dry needling eliminates pain. Clin J Pain. 2018;34(2):1-9.\n\n"
            "Smith et al. found that dry needling reduced pain.\n")
    report = audit_text(page, claims)
    assert [f.text for f in report.findings] == ["Smith et al. found that dry needling reduced pain."]


def test_markdown_references_heading(claims):
    page = "Needling relieves pain.\n\n## References\n\n- Lee K. Needling relieves pain. doi:10.1000/xyz\n"
    report = audit_text(page, claims, source_format="markdown")
    assert [f.text for f in report.findings] == ["Needling relieves pain."]


def test_procedure_cue_does_not_hide_a_promise(claims):
    f = _one("Book an appointment and expect relief from neck pain.", claims)
    assert f is not None and f.verdict == "overstated", f
    # without a promise, the same sentence is logistics
    assert _one("Book an appointment to talk about neck pain relief.", claims) is None


@pytest.mark.parametrize("sentence", [
    "Dry needling improves sleep.",
    "It reduces stress and anxiety.",
    "Dry needling relieves tension headaches.",
    "Needling helps your posture get better.",
])
def test_outcomes_no_question_covers_are_unsupported(claims, sentence):
    f = _one(sentence, claims)
    assert f is not None and f.verdict == "unsupported", (sentence, f)
    assert f.questions == ("outcomes-not-studied",), f
    assert "No study in this review looked at this" in f.reason


def test_tension_is_a_mechanism_only_as_muscle_tension(claims):
    assert _one("Needling releases muscle tension.", claims).verdict == "mechanism-as-fact"
    assert "mechanism" not in _one("Dry needling relieves tension headaches.", claims).questions


@pytest.mark.parametrize("sentence", [
    "No one knows for certain how dry needling works.",
    "Nobody yet knows whether needling resets the muscle.",
    "How needling works is not yet known; these are theories rather than facts.",
])
def test_strong_hedges_make_it_supported(claims, sentence):
    f = _one(sentence, claims)
    assert f is not None and f.verdict == "supported", (sentence, f)


def test_report_is_study_context_and_irregular_past_counts(claims):
    report = audit_text("A 2012 report described four patients. Their pain improved after "
                        "treatment.", claims)
    assert [f.verdict for f in report.findings] == ["supported"]
    assert _one("In the trial, the needled group felt less pain.", claims).verdict == "supported"
    # negated comparison in a study report: an accurate account, not a claim that it helps
    assert _one("In the trial, needling alone did no better than stretching.",
                claims).verdict == "supported"
    # every <someone> who ...: an absolute, even in a report
    assert _one("In the trial, every man who was needled had less pain.",
                claims).verdict == "overstated"


def test_more_harm_words_and_rare_complications(claims):
    f = _one("Some people feel dizzy or light-headed afterwards.", claims)
    assert f.verdict == "supported" and f.questions == ("safety",), f
    f = _one("Serious complications are extremely rare.", claims)
    # the bundled topic file sends serious harms to their own question, which overrides safety
    assert f.verdict != "supported" and f.questions in (("safety",), ("serious-harms",)), f


@pytest.mark.parametrize("sentence", [
    "We will get back to you within one business day.",
    "We offer two treatments: dry needling and massage.",
    "Stress and poor posture can contribute to trigger points.",
    "Please return to reception after your session.",
    "Our physiotherapists also treat headaches.",
    "The clinic is open six days a week.",
    "References are available on request from the front desk.",
])
def test_new_rules_leave_neutral_sentences_alone(claims, sentence):
    assert _one(sentence, claims) is None


# --- rules added after the blind second page (docs/audit.md, "Rule changes after the blind
# second page"). Sentences written for these tests, not taken from any sample page.


@pytest.mark.parametrize("sentence", [
    "In a small trial, all the men needled reported less neck pain after four sessions.",
    "All of our clients had less shoulder pain within a week of needling.",
    "In that study, all 40 participants felt less pain after two sessions.",
])
def test_absolutes_about_people_win_over_study_reports_and_session_counts(claims, sentence):
    f = _one(sentence, claims)
    assert f is not None and f.verdict == "overstated" and f.strength == 4, (sentence, f)
    assert "pain-short-term" in f.questions


def test_a_count_after_after_is_a_time_window_not_a_dose(claims):
    # "after three sessions" beside a pain claim: the pain claim is judged, not a dose
    f = _one("Most clients notice less neck pain after three sessions.", claims)
    assert f.verdict == "overstated" and "sessions" not in f.questions, f
    # a promised dose is a dose claim even when it names the outcome it buys
    f = _one("You will need 8 sessions to be completely pain-free.", claims)
    assert f.verdict == "unsupported" and f.questions == ("sessions",), f
    # a review schedule is not a claim
    assert _one("Your physio will check how you are doing after four sessions.", claims) is None


@pytest.mark.parametrize("sentence, verdict, question", [
    ("Needling is a clinically proven remedy for neck pain.", "overstated", "pain-short-term"),
    ("Walk out of our clinic pain-free.", "overstated", "pain-short-term"),
    ("Clients report dramatic improvements in shoulder mobility.", "overstated", "movement"),
    ("Feel the difference in neck pain after only one treatment.", "overstated", None),
    ("Relief from back pain is guaranteed.", "overstated", "pain-short-term"),
    ("Our athletes get amazing results.", "overstated", "athletes"),
    ("Signing up for the full course gets you the best long-term outcomes.", "unsupported",
     "sessions"),
    ("Needling gives amazing results for restless sleep.", "unsupported", "outcomes-not-studied"),
])
def test_marketing_superlatives_are_absolutes(claims, sentence, verdict, question):
    f = _one(sentence, claims)
    assert f is not None and f.verdict == verdict, (sentence, f)
    assert question is None or question in f.questions, f


@pytest.mark.parametrize("sentence, verdict", [
    ("Dry needling has not been proven to ease neck pain.", "supported"),   # negated: a hedge
    ("We cannot guarantee that needling will reduce your pain.", "supported"),
    ("Dry needling is not a miracle cure.", None),                          # denies a superlative
    ("In the trial, the combined group got the best results of the three.", "supported"),  # a report
])
def test_negated_superlatives_and_reports_are_not_overstated(claims, sentence, verdict):
    f = _one(sentence, claims)
    assert (f.verdict if f else None) == verdict, (sentence, f)


@pytest.mark.parametrize("sentence, verdict, comparator, record", [
    ("Needling beats stretching for a stiff neck.", "contradicted", "vs-stretching",
     "yeganehlari2016#vas-dn-vs-met"),
    ("Dry needling is more effective than muscle energy technique.", "contradicted",
     "vs-stretching", "yeganehlari2016#vas-dn-vs-met"),
    ("It relieves pain better than cortisone injections.", "contradicted", "vs-injections",
     "liu2015#vs-wet-needling"),
    ("Needling is superior to lidocaine for trigger points.", "contradicted", "vs-injections",
     "liu2015#vs-wet-needling"),
    ("Dry needling outperforms an exercise programme.", "unsupported", "vs-exercise", None),
    ("Needling works faster than painkillers.", "unsupported", "vs-other-treatments", None),
])
def test_comparative_claims_are_checked_against_the_comparator(claims, sentence, verdict,
                                                                comparator, record):
    f = _one(sentence, claims)
    assert f is not None and f.verdict == verdict, (sentence, f)
    assert comparator in f.questions, f
    if record:
        assert record in f.evidence and record in f.reason, f
    assert "better than" in f.reason  # the reason names the comparison it checked


def test_comparison_that_agrees_with_the_evidence_is_judged_by_its_outcome(claims):
    # navarrosantana2020 favours needling over manual therapy: the pain wording decides
    f = _one("Needling may ease neck pain better than manual therapy.", claims)
    assert f.verdict == "supported" and "vs-manual-therapy" in f.questions, f
    f = _one("Needling eases neck pain better than manual therapy.", claims)
    assert f.verdict == "overstated", f


@pytest.mark.parametrize("sentence, verdict", [
    ("In one small trial, needling did no better than stretching.", "supported"),
    ("Needling is no more effective than stretching, as far as we know.", "supported"),
    ("Dry needling is no better than sham needling.", "contradicted"),  # reviews found it better
    ("It is not known whether needling works better than injections.", "supported"),
    ("The 2016 trial found needling worked better than stretching for a few women.", "supported"),
])
def test_negated_hedged_or_reported_comparisons_are_not_contradicted(claims, sentence, verdict):
    f = _one(sentence, claims)
    assert (f.verdict if f else None) == verdict, (sentence, f)


def test_comparator_records_exist_in_the_evidence():
    """Every record a comparator cites is a result in evidence/studies (ids do not go stale)."""
    import yaml

    studies = Path(__file__).parents[1] / "evidence" / "studies"
    known = set()
    for path in studies.glob("*.yaml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        known |= {f"{data['id']}#{r['id']}" for r in data.get("results") or ()}
    topics = bundled_topics()
    assert {c.id for c in topics.comparators} >= {"vs-stretching", "vs-injections"}
    for c in topics.comparators:
        assert set(c.evidence) <= known, (c.id, set(c.evidence) - known)
        assert c.finding != "no-difference" or c.evidence, c.id


def test_immediately_in_a_past_study_report_is_the_study_time_window(claims):
    f = _one("A 2009 trial measured neck pain, which dropped and movement improved immediately "
             "after needling.", claims)
    assert f is not None and f.verdict == "supported", f
    # the page's own promise is still an absolute
    f = _one("Your neck pain improves immediately after needling.", claims)
    assert f.verdict == "overstated" and f.strength == 4, f


@pytest.mark.parametrize("sentence", [
    "Needling detoxes tired muscles.",
    "It interrupts the spasm-pain cycle in your shoulder.",
    "Needling calms your overactive nervous system.",
    "The needle reboots the muscle.",
    "Needling unlocks tight shoulders.",
    "The needle breaks up adhesions in the fascia.",
    "Dry needling breaks down knots in the neck.",
    "Needling restores healthy blood flow to the muscle.",
])
def test_mechanism_paraphrases(claims, sentence):
    f = _one(sentence, claims)
    assert f is not None and f.verdict == "mechanism-as-fact", (sentence, f)


@pytest.mark.parametrize("sentence", [
    "Dry needling helps torn tendons heal faster.",
    "It speeds up healing after a sprain.",
    "Needling repairs damaged tissue in the knee.",
    "Regular needling prevents re-injury.",
])
def test_healing_is_an_outcome_no_question_covers(claims, sentence):
    f = _one(sentence, claims)
    assert f is not None and f.verdict == "unsupported", (sentence, f)
    assert f.questions == ("outcomes-not-studied",), f


@pytest.mark.parametrize("sentence", [
    "We also offer stretching classes and manual therapy.",
    "Please tell us if you have had steroid injections in the last month.",
    "If you prefer, we can use massage or exercise instead of needles.",
    "We ask all patients to complete a health questionnaire.",
    "A course of six sessions costs £240.",
    "Dry needling is better known in some countries as intramuscular stimulation.",
    "The best way to book is online.",
    "The trial compared needling with lidocaine injections.",
    "Exercise is better than rest, and we may add needling to it.",
    "Your physiotherapist will review your progress after three sessions.",
    "Our team has a proven track record of friendly service.",
])
def test_second_round_rules_leave_neutral_sentences_alone(claims, sentence):
    assert _one(sentence, claims) is None


def test_finding_carries_evidence_and_suggestion(claims):
    report = audit_text("Dry needling relieves pain.", claims)
    (f,) = report.findings
    assert f.verdict == "overstated"
    assert claims.get("pain-short-term").claim in f.suggestion
    assert "relieves" in f.suggestion  # advice in the page's own words
    assert "kietrys2013#pain-vs-sham-4wk" in f.evidence and "kietrys2013" in f.evidence
    assert f.questions == ("pain-short-term",)
    assert "relieves" in f.cues
    assert (f.strength, f.allowed) == (3, 1)


def test_audit_takes_a_library(tmp_path):
    from evidence_fixture import make_evidence
    from evidencekit.validation import load_library

    lib = load_library(make_evidence(tmp_path))
    report = audit_text("Dry needling cures neck pain in everyone.", lib)
    # the fixture's own claims decide the verdict; an absolute is never "supported"
    assert report.findings and report.findings[0].verdict != "supported"
    assert report.findings[0].evidence


# --- report object ----------------------------------------------------------------------------


def test_report_is_frozen_and_serialises(claims):
    report, _, _ = _audit_file("verdicts.txt", claims)
    assert isinstance(report, AuditReport)
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.text = "x"
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.findings[0].verdict = "supported"
    d = report.to_dict()
    assert set(d) == {"findings", "summary"}
    assert set(d["findings"][0]) >= {"start", "end", "text", "verdict", "reason", "suggestion",
                                     "evidence"}
    assert d["summary"]["verdicts"]["contradicted"] == 1
    assert d["summary"]["not_supported"] == 5
    json.dumps(d)
    frame = report.to_frame()
    assert list(frame.columns[:5]) == ["start", "end", "line", "verdict", "text"]
    assert len(frame) == len(report.findings)
    text = report.summary()
    assert "contradicted" in text and "speeds up recovery from whiplash" in text
    assert max(len(line) for line in text.splitlines()[1:]) <= 100


def test_html_output_escapes_and_loads_nothing(claims):
    page = ('<p>Dry needling is safe &lt;script&gt;alert("x")&lt;/script&gt; and relieves pain '
            'for "everyone" &amp; more.</p><script>alert(1)</script>')
    report = audit_text(page, claims, source_format="html")
    out = report.to_html()
    assert "<script" not in out.lower()
    assert "&lt;script&gt;" in out
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", out)
    assert "@import" not in out and "url(" not in out
    assert 'title="' in out and "class=\"v-overstated\"" in out
    # the title attribute explains the finding
    assert re.search(r'title="overstated: [^"]+Instead: ', out)


def test_empty_and_whitespace_pages(claims, tmp_path):
    p = tmp_path / "empty.txt"
    p.write_bytes(b"")
    source, fmt = read_page(p)
    report = audit_text(source, claims, source_format=fmt)
    assert report.findings == () and report.sentences == 0
    assert report.to_dict()["summary"]["claims"] == 0
    assert "No health claims" in report.summary()
    assert audit_text(" \n\n \t", claims).findings == ()
    assert audit_text("", claims, source_format="html").findings == ()


# --- encodings and bad input ------------------------------------------------------------------

SENTENCE = "Dry needling relieves pain – “always”."


@pytest.mark.parametrize("encoding, bom", [
    ("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff"),
])
def test_encodings(claims, tmp_path, encoding, bom):
    p = tmp_path / "page.txt"
    p.write_bytes(bom + SENTENCE.encode(encoding))
    source, fmt = read_page(p)
    assert source == SENTENCE
    (f,) = audit_text(source, claims, source_format=fmt).findings
    assert f.text == SENTENCE and f.verdict == "overstated"


def test_unknown_encoding_is_a_clear_error(tmp_path):
    p = tmp_path / "latin1.txt"
    p.write_bytes("Dry needling relieves pain in the café.".encode("cp1252"))
    with pytest.raises(InputError, match="not UTF-8.*Re-save the page as UTF-8") as exc:
        read_page(p)
    assert exc.value.file == str(p) and exc.value.line == 1


def test_binary_file_is_a_clear_error(tmp_path):
    p = tmp_path / "image.png"
    p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    with pytest.raises(InputError, match="binary"):
        read_page(p)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_page(tmp_path / "nope.txt")
    with pytest.raises(InputError, match="folder"):
        read_page(tmp_path)


def test_size_limit_is_a_clear_error(tmp_path, monkeypatch):
    import evidencekit.audit.pages as pages

    monkeypatch.setattr(pages, "MAX_BYTES", 100)
    p = tmp_path / "big.txt"
    p.write_text("Dry needling relieves pain. " * 10)
    with pytest.raises(InputError, match="MB; the audit reads pages up to"):
        read_page(p)


@pytest.mark.slow
def test_ten_megabyte_page_is_audited_with_exact_offsets(claims, tmp_path):
    """A 10 MB page (made here, not committed) is audited end to end, offsets intact.

    How the time grows with size is measured in benchmarks/bench_audit.py, not here: timing
    assertions on a shared machine are noise.
    """
    sample = (Path(__file__).parent / "data" / "samples" / "patient-page-dry-needling.txt").read_text()
    p = tmp_path / "huge.txt"
    body = (sample + "\n\n") * (10_000_000 // (len(sample) + 2) + 1)
    # plus one 'sentence' of 1 MB without any full stop
    body += "dry needling may reduce pain " * 35_000
    p.write_text(body, encoding="utf-8")
    assert p.stat().st_size > 10_000_000
    source, fmt = read_page(p)
    report = audit_text(source, claims, source_format=fmt)
    assert len(report.findings) > 20_000
    for f in report.findings[:50] + report.findings[-50:]:
        assert source[f.start:f.end] == f.text


def test_bad_arguments(claims):
    with pytest.raises(InputError, match="unknown source format"):
        audit_text("x", claims, source_format="pdf")
    with pytest.raises(TypeError):
        audit_text("x", object())


# --- lexicon ---------------------------------------------------------------------------------


def test_default_lexicon_loads_and_sections_are_data():
    lex = load_lexicon()
    topics = bundled_topics()  # topic knowledge is the evidence folder's, not the lexicon's
    assert "pain-short-term" in topics.questions
    assert topics.role("generic") == "pain-short-term"
    # the ladder's markers from claims.py are part of the hedges
    from evidencekit.grade.ladder import WORDING_LADDER

    hedge_phrases = {p for _, g in lex.hedges for p in g.phrases}
    for rung in WORDING_LADDER:
        assert set(rung.markers) <= hedge_phrases


def test_extending_the_lexicon_without_python(claims, tmp_path):
    sentence = "Dry needling realigns your chakras."
    assert audit_text(sentence, claims).findings == ()
    text = LEXICON.read_text(encoding="utf-8").replace(
        "mechanism:\n  - flush* out", "mechanism:\n  - realign*\n  - chakra*\n  - flush* out", 1)
    mine = tmp_path / "lexicon.yaml"
    mine.write_text(text, encoding="utf-8")
    (f,) = audit_text(sentence, claims, lexicon=mine).findings
    assert f.verdict == "mechanism-as-fact"
    assert "realigns" in f.cues


@pytest.mark.parametrize("content, match", [
    ("benefit: [reduce\n  - x: [", "not valid YAML"),
    ("- just\n- a list\n", "mapping of sections"),
    ("benefit: [reduce]\nbenefitz: [x]\n", "unknown section"),
    ("benefit: reduce\n", "list of phrases"),
    ("benefit: ['re:(unclosed']\n", "bad phrase"),
    ("benefit: ['a ... ']\n", "bad phrase"),
    ("benefit: ['less ...13 pain']\n", "bad phrase"),
    ("benefit: [reduce]\nsessions: [{phrase: x, bogus: true}]\n", "each entry"),
    ("benefit: [reduce]\ncitation_shapes: ['re:(unclosed']\n", "bad phrase"),
    ("benefit: [reduce]\nhedges: {7: [maybe]}\n", "level 7"),
    ("benefit: [reduce]\ncomparators: [{id: x, name: y, words: [a], finding: maybe}]\n",
     "topic knowledge"),
    ("benefit: [reduce]\ntopics: {pain: [ache]}\n", "topic knowledge"),
    ("benefit: ['re:(\\w+\\s?)*$']\n", "nested quantifiers"),
    ("benefit: [reduce]\ncomparator_gap: 40\n", "whole number"),
])
def test_bad_lexicon_is_a_clear_error(claims, tmp_path, content, match):
    p = tmp_path / "bad.yaml"
    p.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=match) as exc:
        audit_text("Dry needling relieves pain.", claims, lexicon=p)
    assert exc.value.file == str(p)


def test_missing_lexicon_file(claims, tmp_path):
    with pytest.raises(InputError, match="lexicon file not found"):
        audit_text("x", claims, lexicon=tmp_path / "none.yaml")


# --- CLI ---------------------------------------------------------------------------------------


@pytest.fixture()
def evidence_dir(tmp_path):
    from evidence_fixture import make_evidence

    return make_evidence(tmp_path / "ev")


def _run(argv, capsys):
    from evidencekit.cli import main

    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_formats_and_strict(evidence_dir, capsys):
    page = str(PAGES / "verdicts.txt")
    code, out, err = _run(["audit", page, "--evidence", str(evidence_dir)], capsys)
    assert code == 0 and "verdict" in out and "Traceback" not in err
    code, out, _ = _run(["audit", page, "--evidence", str(evidence_dir), "--format", "json"], capsys)
    data = json.loads(out)
    assert code == 0 and set(data) == {"findings", "summary"}
    source, _ = read_page(PAGES / "verdicts.txt")
    for f in data["findings"]:
        assert source[f["start"]:f["end"]] == f["text"]
    code, out, _ = _run(["audit", page, "--evidence", str(evidence_dir), "--format", "html"], capsys)
    assert code == 0 and out.startswith("<!DOCTYPE html>") and "<mark" in out
    code, _, _ = _run(["audit", page, "--evidence", str(evidence_dir), "--strict"], capsys)
    assert code == 1


def test_cli_strict_passes_on_a_clean_page(evidence_dir, tmp_path, capsys):
    p = tmp_path / "clean.txt"
    p.write_text("The therapist cleans the skin. The needle is left in for 30 seconds.\n")
    code, out, _ = _run(["audit", str(p), "--evidence", str(evidence_dir), "--strict"], capsys)
    assert code == 0 and "No health claims" in out


@pytest.mark.parametrize("content", [b"\x00\x01\x02binary", "caf\u00e9".encode("cp1252")])
def test_cli_bad_input_exits_2_without_traceback(evidence_dir, tmp_path, capsys, content):
    p = tmp_path / "bad.txt"
    p.write_bytes(content)
    code, out, err = _run(["audit", str(p), "--evidence", str(evidence_dir)], capsys)
    assert code == 2 and "Traceback" not in err and str(p) in err


def test_cli_missing_file_exits_2(evidence_dir, tmp_path, capsys):
    code, _, err = _run(["audit", str(tmp_path / "nope.html"), "--evidence", str(evidence_dir)], capsys)
    assert code == 2 and "not found" in err


def test_cli_audit_never_modifies_the_page_or_the_evidence(evidence_dir, tmp_path, capsys):
    page = tmp_path / "page.html"
    page.write_bytes((PAGES / "verdicts.html").read_bytes())

    def snapshot():
        paths = [page, *sorted(p for p in evidence_dir.rglob("*") if p.is_file())]
        return {str(p): (p.read_bytes(), p.stat().st_mtime_ns, p.stat().st_mode) for p in paths}

    before = snapshot()
    for fmt in ("text", "json", "html"):
        _run(["audit", str(page), "--evidence", str(evidence_dir), "--format", fmt], capsys)
    assert snapshot() == before


@pytest.mark.parametrize("name, content", [
    ("empty.html", b""),
    ("app.html", b"<html><body><div id='app'></div><script>render()</script></body></html>"),
])
def test_cli_page_with_no_text_warns_on_stderr(evidence_dir, tmp_path, capsys, name, content):
    p = tmp_path / name
    p.write_bytes(content)
    code, out, err = _run(["audit", str(p), "--evidence", str(evidence_dir), "--strict"], capsys)
    assert code == 0 and "No health claims" in out
    assert f"{p}: warning: no text to audit" in err and "Traceback" not in err


def test_cli_text_output_ends_with_a_newline(evidence_dir, tmp_path, capsys):
    p = tmp_path / "clean.txt"
    p.write_text("The therapist cleans the skin.\n")
    for fmt in ("text", "html"):
        code, out, _ = _run(["audit", str(p), "--evidence", str(evidence_dir), "--format", fmt],
                            capsys)
        assert code == 0 and out.endswith("\n") and not out.endswith("\n\n\n")


@pytest.mark.parametrize("start", ["<p>", "<div class='x'>", "<h2>", "<ul>\n<li>"])
def test_html_fragment_saved_as_txt_is_read_as_html(tmp_path, start):
    p = tmp_path / "fragment.txt"
    p.write_text(f"{start}Dry needling cures all pain.</p>")
    assert read_page(p)[1] == "html"
    p.write_text("Dry needling <b>cures</b> all pain.")
    assert read_page(p)[1] == "text"
