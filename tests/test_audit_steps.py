"""The audit's typed steps, its topic file, a review of another topic, batch mode and linear time."""
from __future__ import annotations

import csv
import io
import json
import re
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _audit_support import EVIDENCE, bundled_topics, stand_in_claims  # noqa: E402

from evidencekit.audit import audit_text, load_lexicon, load_topics, validate_topics  # noqa: E402
from evidencekit.audit.cues import Cues, read_cues  # noqa: E402
from evidencekit.audit.judge import judge  # noqa: E402
from evidencekit.audit.routing import check_claim, route  # noqa: E402
from evidencekit.audit.strength import wording_strength  # noqa: E402
from evidencekit.audit.verdicts import verdict_for  # noqa: E402
from evidencekit.audit.lexicon import PhraseIndex, check_pattern  # noqa: E402
from evidencekit.audit.pages import html_to_text, markdown_scan  # noqa: E402
from evidencekit.errors import InputError  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _cues(sentence: str, study_context: bool = False) -> Cues:
    lex, topics = load_lexicon(), bundled_topics()
    groups = dict(topics.questions)
    index = PhraseIndex(lex.groups() + topics.groups())
    return read_cues(sentence, index.scan(sentence), study_context, lex, topics, groups)


def _audit(sentence, claims=None):
    return audit_text(sentence, claims or stand_in_claims(), topics=bundled_topics()).findings


# --- step 1: cues --------------------------------------------------------------------------------


def test_step1_negation_has_scope_and_terminators():
    c = _cues("No medical procedure is without risk.")
    assert not c.safety and c.denied_safety  # "no ... without risk": a caveat
    c = _cues("It does not only reduce pain, it is safe.")
    assert c.benefit and not c.negated_benefit  # "not only" is a pseudo-trigger
    c = _cues("It does not hurt, but it reduces pain.")
    assert c.benefit  # "but" ends the negation's scope


def test_step1_proper_names_and_purpose_clauses_are_not_benefit_cues():
    assert not _cues("Welcome to CureWell Physio in Leeds.").benefit
    assert not _cues("To understand how it relieves pain, read on.").benefit
    assert not _cues("Find out how dry needling works.").benefit
    assert not _cues("The area is compressed to minimise bleeding.").benefit


def test_step1_harm_minimised_is_a_safety_claim():
    assert _cues("Soreness affects less than 8% of patients.").harm_minimised
    assert not _cues("Soreness may last a day or two.").harm_minimised


# --- step 2: is it a claim about the treatment ----------------------------------------------------


@pytest.mark.parametrize("sentence", [
    "Athletes need effective recovery strategies.",
    "Finding effective relief can be a challenge.",
    "How does dry needling work?",
    "Please book online or call the front desk.",
])
def test_step2_not_claims(sentence):
    assert not check_claim(_cues(sentence), load_lexicon()).is_claim


@pytest.mark.parametrize("sentence", [
    "Dry needling offers several benefits:",
    "It involves inserting a thin filament, helping to alleviate pain.",
    "- Better range of motion",
])
def test_step2_claims(sentence):
    assert check_claim(_cues(sentence), load_lexicon()).is_claim


# --- step 3: routing ---------------------------------------------------------------------------


def test_step3_recovery_alone_never_routes_to_a_population_question():
    qs = {r.question for r in route(_cues("Dry needling speeds up recovery."), bundled_topics())}
    assert "whiplash-recovery" not in qs
    qs = {r.question for r in route(_cues("Dry needling speeds up whiplash recovery."),
                                    bundled_topics())}
    assert "whiplash-recovery" in qs


def test_step3_a_claim_without_an_outcome_is_not_specific():
    (r,) = route(_cues("Dry needling is beneficial."), bundled_topics())
    assert r.question == "pain-short-term" and not r.specific


# --- step 4: modal strength (GRADE 26) -------------------------------------------------------------


@pytest.mark.parametrize("sentence, rung", [
    ("Dry needling can provide immediate relief.", 4),  # "immediate relief" promises
    ("Dry needling can provide significant pain relief.", 3),  # "can" is not a hedge
    ("Dry needling can reduce pain.", 3),
    ("Dry needling helps reduce pain.", 3),
    ("Dry needling may reduce pain.", 1),
    ("It is theorized to reset the muscle.", 0),
])
def test_step4_modal_strength(sentence, rung):
    assert wording_strength(_cues(sentence)).rung == rung


# --- step 5: verdicts -------------------------------------------------------------------------


def test_step5_generic_fallback_is_never_contradicted():
    claims = stand_in_claims()
    c = _cues("Dry needling speeds up recovery.")
    for r in route(c, bundled_topics()):
        v = verdict_for(r, wording_strength(c), c, claims, bundled_topics())
        assert v.verdict != "contradicted", v


def test_step5_suggestions_speak_to_the_author():
    for sentence in ("Dry needling cures insomnia.", "It is completely safe.",
                     "You will need exactly 6 sessions.", "Dry needling relieves pain for good."):
        (f,) = _audit(sentence)
        assert f.verdict != "supported"
        assert not re.search(r"questions\.yaml|evidence/|\w+#\w+|outcomes-not-studied", f.suggestion), f


def test_judge_returns_a_frozen_typed_result():
    j = judge(_cues("Dry needling relieves pain for everyone."), stand_in_claims(), load_lexicon(),
              bundled_topics())
    assert j.verdict == "overstated" and j.strength == 4
    with pytest.raises(Exception):
        j.verdict = "supported"  # type: ignore[misc]


@pytest.mark.parametrize("sentence, verdict", [
    ("Dry needling can provide immediate and significant pain relief.", "overstated"),
    ("Dry needling is one of the most effective modalities for neck pain.", "overstated"),
    ("Our approach is evidence-based and gets results.", "overstated"),
    ("Soreness affects less than 8% of patients.", "unsupported"),
    ("Dry needling helps the muscle let go.", "mechanism-as-fact"),
    ("It treats and prevents headaches.", "unsupported"),
    ("Dry needling relieves pain.  It is completely safe.", "overstated"),
])
def test_listed_causes_are_flagged(sentence, verdict):
    findings = _audit(sentence)
    assert findings and findings[0].verdict == verdict, findings


@pytest.mark.parametrize("sentence", [
    "Athletes need effective recovery strategies.",
    "Welcome to CureWell Physiotherapy.",
    "To understand dry needling for trigger point relief, read our guide.",
    "Before booking, read how dry needling works.",
])
def test_listed_false_flags_are_not_flagged(sentence):
    assert not [f for f in _audit(sentence) if f.verdict != "supported"]


def test_two_spaces_after_a_full_stop_split_sentences():
    findings = _audit("Dry needling relieves pain.  It is completely safe.")
    assert [f.text for f in findings] == ["Dry needling relieves pain.", "It is completely safe."]


# --- topic file and a review of another topic (issue 11) ------------------------------------------


def _other_review(tmp_path: Path) -> Path:
    from evidence_fixture import make_evidence

    ev = make_evidence(tmp_path / "coldwater")
    for f in list(ev.rglob("*.yaml")) + [ev / "references.bib"]:
        t = f.read_text(encoding="utf-8")
        for a, b in (("Dry needling", "Cold-water immersion"), ("dry needling", "cold-water immersion"),
                     ("sham needling", "a warm bath"), ("needling", "immersion"),
                     ("neck pain", "muscle soreness"), ("Neck pain", "Muscle soreness")):
            t = t.replace(a, b)
        f.write_text(t, encoding="utf-8")
    return ev


def _cli(argv):
    import subprocess

    exe = Path(sys.executable).with_name("evidencekit")
    return subprocess.run([str(exe), *argv], capture_output=True, text=True, encoding="utf-8",
                          timeout=300)


def test_review_of_another_topic_without_a_topic_file(tmp_path):
    ev = _other_review(tmp_path)
    page = tmp_path / "page.txt"
    page.write_text("Cold-water immersion cures everyone who tries it. It is completely safe. "
                    "Please book online or call the front desk.\n", encoding="utf-8")
    proc = _cli(["audit", str(page), "--evidence", str(ev), "--format", "json"])
    assert proc.returncode == 0, proc.stderr
    findings = json.loads(proc.stdout)["findings"]
    texts = [f["text"] for f in findings]
    assert texts == ["Cold-water immersion cures everyone who tries it.", "It is completely safe."]
    assert all(f["verdict"] != "supported" for f in findings)
    reasons = " ".join(f["reason"] + " " + f["suggestion"] for f in findings)
    assert "cold-water immersion" in reasons.lower()
    assert not re.search(r"needl|trigger|whiplash", reasons, re.I)


def test_topic_file_errors_name_the_file_and_fail_validate(tmp_path):
    ev = _other_review(tmp_path)
    (ev / "audit-topics.yaml").write_text(
        "names: [cold-water immersion]\n"
        "roles: {generic: no-such-question}\n"
        "topics:\n  not-a-question: [soreness]\n"
        "  neck-pain: ['re:(\\w+\\s?)*$']\n"
        "comparators:\n  - {id: vs-x, name: x, words: [x], finding: no-difference, "
        "evidence: [nosuch#result]}\n", encoding="utf-8")
    messages = validate_topics(ev)
    text = "\n".join(str(m) for m in messages)
    assert all(m.file == str(ev / "audit-topics.yaml") for m in messages)
    assert "no-such-question" in text and "not-a-question" in text
    assert "nested quantifiers" in text
    assert "nosuch#result" in text
    proc = _cli(["validate", str(ev), "--format", "json"])
    assert proc.returncode == 1
    errors = json.loads(proc.stdout)["errors"]
    assert any("audit-topics.yaml" in (e["file"] or "") for e in errors)
    page = tmp_path / "p.txt"
    page.write_text("It is safe.", encoding="utf-8")
    proc = _cli(["audit", str(page), "--evidence", str(ev)])
    assert proc.returncode == 2 and "audit-topics.yaml" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_bundled_topic_file_validates():
    assert validate_topics(EVIDENCE) == []
    assert load_topics(EVIDENCE).treatment == "dry needling"


def test_catastrophic_pattern_check():
    assert check_pattern(r"(\w+\s?)*$")
    assert check_pattern(r"(a+)+b")
    assert check_pattern(r"\bproven\s+(?:to|treatments?)\b") is None
    assert check_pattern(r"(?:\W+\w+){0,6}?\W+") is None


# --- batch mode -------------------------------------------------------------------------------


def test_batch_csv_and_jsonl(tmp_path):
    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "a.txt").write_text("Dry needling cures everyone.\n", encoding="utf-8")
    # The weakest wording on the ladder is supported whatever the bundled certainty is.
    (pages / "b.md").write_text(
        "# Hi\n\nThe evidence is very uncertain about whether dry needling reduces neck pain.\n",
        encoding="utf-8")
    proc = _cli(["audit", str(pages), "--evidence", str(EVIDENCE), "--format", "csv"])
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert [(Path(r["page"]).name, r["kind"]) for r in rows] == [
        ("a.txt", "finding"), ("a.txt", "page"), ("b.md", "finding"), ("b.md", "page")]
    assert rows[0]["verdict"] == "overstated" and rows[2]["verdict"] == "supported"
    assert "\r" not in proc.stderr  # no progress bar when stderr is not a terminal
    proc = _cli(["audit", str(pages / "a.txt"), str(pages / "b.md"), "--evidence", str(EVIDENCE),
                 "--format", "jsonl", "--strict"])
    assert proc.returncode == 1
    lines = [json.loads(x) for x in proc.stdout.splitlines()]
    assert [x["kind"] for x in lines] == ["finding", "page", "finding", "page"]
    proc = _cli(["audit", str(pages / "a.txt"), str(pages / "b.md"), "--format", "json"])
    assert proc.returncode == 2 and "csv" in proc.stderr


def test_batch_reports_an_unreadable_page_and_goes_on(tmp_path):
    (tmp_path / "bad.txt").write_bytes(b"\x00\x01binary")
    (tmp_path / "good.txt").write_text("Dry needling cures everyone.\n", encoding="utf-8")
    proc = _cli(["audit", str(tmp_path), "--evidence", str(EVIDENCE), "--format", "jsonl"])
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(x) for x in proc.stdout.splitlines()]
    assert lines[0]["kind"] == "page" and "binary" in lines[0]["error"]
    assert lines[1]["kind"] == "finding"


# --- linear time (issue 17) ----------------------------------------------------------------------
# Each of these took 20-50 s before; a budget of a few seconds on a shared machine still fails the
# quadratic or cubic versions by a wide margin. benchmarks/bench_audit.py shows the growth.

BUDGET_S = 10.0


@pytest.mark.parametrize("page, fmt", [
    ("Dry needling 1" + " " * 1900 + "x.", "text"),
    ("<a b " * 15_000, "html"),
    ("<!--" * 15_000, "html"),
    ("[" * 80_000, "markdown"),
    ("<" * 80_000, "markdown"),
    ("<!--" * 20_000, "markdown"),
])
def test_hostile_pages_are_linear(page, fmt):
    t0 = time.perf_counter()
    report = audit_text(page, stand_in_claims(), topics=bundled_topics(), source_format=fmt)
    assert time.perf_counter() - t0 < BUDGET_S
    assert report.sentences >= 0


def test_html_tokeniser_keeps_text_and_drops_markup():
    assert html_to_text("<p>a &amp; b</p><script>x<y</script><p>c < d</p><!-- e -->f") == \
        "a & b\nc < d\nf"
    assert html_to_text("<p>unterminated <b") == "unterminated"
    src = "# T\n\n[link](http://x) **b** <!-- c\n-->\n"
    scan = markdown_scan(src)
    assert len(scan) == len(src) and "link" in scan and "http" not in scan and "c" not in scan[15:]


def test_topic_file_with_a_catastrophic_pattern_is_refused_by_audit(tmp_path):
    ev = _other_review(tmp_path)
    (ev / "audit-topics.yaml").write_text("outcomes_not_studied: ['re:(\\w+\\s?)*$']\n",
                                          encoding="utf-8")
    with pytest.raises(InputError, match="nested quantifiers") as exc:
        load_topics(ev)
    assert exc.value.file == str(ev / "audit-topics.yaml")


# --- the tool's own leaflet ----------------------------------------------------------------------


@pytest.mark.parametrize("fmt, source_format", [("md", "markdown"), ("html", "html")])
def test_bundled_leaflet_is_never_flagged(fmt, source_format):
    """The leaflet evidencekit writes from the bundled review, audited against the same review:
    its headings, caveats and study notes are never read as overclaims."""
    from _audit_support import real_claims

    from evidencekit.loading import load_library
    from evidencekit.outputs.build import render_leaflet

    claims = real_claims()
    page = render_leaflet(claims, load_library(EVIDENCE), fmt)
    report = audit_text(page, claims, topics=EVIDENCE, source_format=source_format)
    assert report.findings, "the leaflet states what the evidence shows; some are claims"
    bad = [(f.text, f.verdict, f.reason) for f in report.findings if f.verdict != "supported"]
    assert not bad, bad


def test_review_settings_name_the_treatment(tmp_path):
    """review.yaml's intervention_subject is a name of the treatment: a sentence that uses it is
    about the treatment, one that names something else is not."""
    ev = _other_review(tmp_path)
    (ev / "review.yaml").write_text("intervention: cold-water immersion\n"
                                    "intervention_subject: Ice baths\n"
                                    # the fixture's study records one population characteristic
                                    "characteristics: {trigger-points: the fixture's own}\n",
                                    encoding="utf-8")
    topics = load_topics(ev)
    assert "Ice baths" in topics.names.phrases
    from evidencekit.grade.claims import make_claims
    from evidencekit.loading import load_library

    claims = make_claims(load_library(ev))
    got = audit_text("Ice baths relieve muscle soreness for good. Athletes need effective recovery "
                     "strategies.", claims, topics=topics).findings
    assert [f.text for f in got] == ["Ice baths relieve muscle soreness for good."]
    assert "(questions.yaml; no audit-topics.yaml)" in audit_text("x", claims, topics=ev).topics
