"""Tests for evidencekit.audit: verdicts, non-claims, offsets, formats, encodings, lexicon, CLI."""
from __future__ import annotations

import dataclasses
import json
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _audit_support import real_claims, stand_in_claims  # noqa: E402

from evidencekit.audit import (  # noqa: E402
    AuditReport, audit_text, html_to_text, load_lexicon, read_page,
)
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
    real = real_claims()
    if real is None:
        pytest.skip("evidence/ does not load (run `evidencekit validate evidence`)")
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


def test_finding_carries_evidence_and_suggestion(claims):
    report = audit_text("Dry needling relieves pain.", claims)
    (f,) = report.findings
    assert f.verdict == "overstated"
    assert f.suggestion == claims.get("pain-short-term").claim
    assert "kietrys2013#pain-vs-sham-4wk" in f.evidence and "kietrys2013" in f.evidence
    assert f.questions == ("pain-short-term",)
    assert "relieves" in f.cues
    assert (f.strength, f.allowed) == (3, 1)


def test_audit_takes_a_library(tmp_path):
    from evidence_fixture import make_evidence
    from evidencekit.library import load_library

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
    import evidencekit.audit as audit

    monkeypatch.setattr(audit, "MAX_BYTES", 100)
    p = tmp_path / "big.txt"
    p.write_text("Dry needling relieves pain. " * 10)
    with pytest.raises(InputError, match="MB; the audit reads pages up to"):
        read_page(p)


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
    assert "pain-short-term" in lex.topics
    assert lex.generic_question == "pain-short-term"
    # the ladder's markers from claims.py are part of the hedges
    from evidencekit.claims import WORDING_LADDER

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
    ("benefit: [reduce]\nhedges: {7: [maybe]}\n", "level 7"),
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
