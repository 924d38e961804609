"""``evidencekit build``: what it writes, and its promises (issue 4 and issue 7).

- every value in HTML is escaped (a ``<script>`` in a BibTeX title or a study field is text);
- two builds of the same input are byte-identical, file by file;
- each file is written atomically: a build that fails part-way leaves the previous leaflet intact;
- build never modifies its inputs;
- readability: a question whose text reads above grade 10 fails the build, naming the question;
- every claim has caveats, and citations that resolve in references.bib; its wording is printed.
"""
from __future__ import annotations

import os
import hashlib
import json
import re
from pathlib import Path

import markupsafe
import pytest

from evidence_fixture import make_evidence
from evidencekit.outputs import build as render
from evidencekit.outputs import pdf as pdf_module
from evidencekit.cli import main
from evidencekit.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = "<script>alert(1)</script>"
EXPECTED = {"leaflet.md", "leaflet.html", "citation-summary.md", "claims.json",
            "figures/evidence-map.png", "figures/risk-of-bias.png"}


def _tree(path: Path) -> dict[str, bytes]:
    return {p.relative_to(path).as_posix(): p.read_bytes()
            for p in sorted(path.rglob("*")) if p.is_file()}


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    for name, data in _tree(path).items():
        h.update(name.encode() + b"\0" + data + b"\0")
    # permissions and modification times too: "never modifies" means not even a touch
    for p in sorted(path.rglob("*")):
        st = p.stat()
        h.update(f"{p.relative_to(path)}:{st.st_mode}:{st.st_mtime_ns}".encode())
    return h.hexdigest()


@pytest.fixture
def evidence(tmp_path: Path) -> Path:
    return make_evidence(tmp_path)


@pytest.fixture
def no_pdf(monkeypatch):
    """Most tests do not need Chromium; these run the same with and without it."""
    monkeypatch.setattr(pdf_module, "find_chromium", lambda: None)


# ---------------------------------------------------------------------------------------------
# what build writes


def test_build_writes_every_output(evidence, tmp_path, no_pdf):
    report = render.build(evidence, tmp_path / "out")
    assert report.ok, report.summary()
    files = set(_tree(tmp_path / "out"))
    assert EXPECTED <= files
    assert any(f.startswith("figures/forest-") for f in files), "a forest plot for neck-pain"
    assert set(report.written) == files
    for name in files:
        if name.endswith(".png"):
            assert (tmp_path / "out" / name).read_bytes().startswith(b"\x89PNG")
    assert report.pdf == "skipped"
    assert "Chromium is not installed" in report.pdf_message
    d = report.to_dict()
    assert d["ok"] is True and d["pdf"]["status"] == "skipped"
    assert {r["question"] for r in d["readability"]} == {"neck-pain", "athletes"}
    assert json.dumps(d)  # plain JSON


def test_claims_json_is_the_claims_command_output(evidence, tmp_path, no_pdf, capsys):
    render.build(evidence, tmp_path / "out")
    capsys.readouterr()
    rc = main(["claims", "--evidence", str(evidence), "--format", "json"])
    printed = capsys.readouterr().out
    assert rc == 0, f"`evidencekit claims` exited {rc}"
    assert (tmp_path / "out" / "claims.json").read_text(encoding="utf-8") == printed


def test_each_claim_is_printed_with_its_wording_caveats_and_resolving_citations(
        evidence, tmp_path, no_pdf):
    from evidencekit.evidence.bibliography import load_bibtex

    render.build(evidence, tmp_path / "out")
    out = tmp_path / "out"
    claims = json.loads((out / "claims.json").read_text())["claims"]
    bib = load_bibtex(evidence / "references.bib")
    md = (out / "leaflet.md").read_text()
    html = (out / "leaflet.html").read_text()
    # Every caveat is printed in the clinician summary; the leaflet carries the claim.
    summary_md = (out / "clinician-summary.md").read_text()
    summary_html = (out / "clinician-summary.html").read_text()
    for c in claims:
        assert c["caveats"], f"{c['question']} has no caveats"
        assert all(k in bib for k in c["citations"]), c["citations"]
        shown = "no evidence" if c["direction"] == "no-evidence" else c["certainty"]
        label = render.CERTAINTY_WORDS[shown][0]
        for doc in (md, html):
            for sentence in _shown_sentences(c["claim"]):
                assert sentence in doc, sentence
            # a finding carries its level; what we do not know is listed under its own heading
            assert (f"({label.lower()} certainty)" in doc if shown not in ("very low", "no evidence")
                    else "(very low certainty, or no study)" in doc)
        for caveat in c["caveats"]:
            assert render.md_escape(caveat) in summary_md
            assert str(markupsafe.escape(caveat)) in summary_html


def test_citation_summary_gives_reference_design_n_findings_sources_and_caveats(
        evidence, tmp_path, no_pdf):
    render.build(evidence, tmp_path / "out")
    text = (tmp_path / "out" / "citation-summary.md").read_text()
    assert "Smith AB, Jones C. Dry needling versus sham needling" in text
    assert "Randomised trial" in text and "Case series" in text
    assert "n = 60" in text and "n = 4" in text
    assert "MD -1 (95% CI -2 to 0)" in text
    assert "<https://example.org/trial2020>" in text
    assert '"mean difference -1.0 (95% CI -2.0 to 0.0)"' in text
    assert "Only 60 people took part in this trial." in text
    assert "side effects" in text  # not reported, kept visible


# ---------------------------------------------------------------------------------------------
# escaping


def test_script_in_bibtex_title_and_study_fields_comes_out_as_text(tmp_path, no_pdf):
    evidence = make_evidence(tmp_path, inject=SCRIPT)
    report = render.build(evidence, tmp_path / "out")
    assert report.ok, report.summary()
    html = (tmp_path / "out" / "leaflet.html").read_text()
    assert "<script" not in html.lower()
    # the BibTeX title reaches the leaflet, escaped; the question title and the study's caveat
    # reach the clinician summary (the leaflet's messages name outcomes in the claim), escaped
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 1
    summary = (tmp_path / "out" / "clinician-summary.html").read_text()
    assert "<script" not in summary.lower()
    assert summary.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 2
    assert "Only 60 people took part in this trial. &lt;script&gt;alert(1)&lt;/script&gt;" in summary
    for name in ("leaflet.md", "citation-summary.md"):
        text = (tmp_path / "out" / name).read_text()
        assert not re.search(r"(?<!\\)<script", text, re.I), name
        assert "\\<script\\>alert(1)\\</script\\>" in text


# ---------------------------------------------------------------------------------------------
# determinism, atomicity, inputs


def _assert_two_builds_are_byte_identical(evidence, tmp_path):
    first = render.build(evidence, tmp_path / "one")
    second = render.build(evidence, tmp_path / "two")
    assert first.written == second.written
    a, b = _tree(tmp_path / "one"), _tree(tmp_path / "two")
    assert a.keys() == b.keys()
    different = [name for name in a if a[name] != b[name]]
    assert not different, f"differ between builds: {different}"
    # and rebuilding in place changes nothing
    render.build(evidence, tmp_path / "one")
    assert _tree(tmp_path / "one") == a
    return first


def test_two_builds_are_byte_identical(evidence, tmp_path, no_pdf):
    _assert_two_builds_are_byte_identical(evidence, tmp_path)


@pytest.mark.slow
@pytest.mark.skipif(pdf_module.find_chromium() is None,
                    reason="Chromium is not installed, so no leaflet.pdf is printed "
                           "(install it with `apt-get install chromium` to run this test)")
def test_two_builds_print_byte_identical_pdfs(evidence, tmp_path):
    first = _assert_two_builds_are_byte_identical(evidence, tmp_path)
    assert "leaflet.pdf" in first.written, first.pdf_message


def test_build_never_modifies_its_inputs(evidence, tmp_path, no_pdf):
    before = _digest(evidence)
    render.build(evidence, tmp_path / "out")
    assert _digest(evidence) == before


def test_output_inside_the_evidence_folder_is_refused(evidence, no_pdf):
    before = _digest(evidence)
    for out in (evidence, evidence / "build", evidence.parent):
        with pytest.raises(InputError, match="output folder"):
            render.build(evidence, out)
    assert _digest(evidence) == before


def test_a_failing_later_step_leaves_the_previous_leaflet_intact(evidence, tmp_path, no_pdf,
                                                                 monkeypatch):
    out = tmp_path / "out"
    render.build(evidence, out)
    old = _tree(out)

    def broken(*args, **kwargs):
        raise RuntimeError("figure drawing failed")

    monkeypatch.setattr(render, "render_figures", broken)
    (evidence / "studies" / "trial2020.yaml").write_text(
        (evidence / "studies" / "trial2020.yaml").read_text().replace(
            "Only 60 people took part", "Just 60 people took part"))
    with pytest.raises(RuntimeError):
        render.build(evidence, out)
    assert _tree(out) == old


def test_a_failure_while_writing_leaves_the_previous_build_whole(
        evidence, tmp_path, no_pdf, monkeypatch):
    out = tmp_path / "out"
    render.build(evidence, out)
    old = _tree(out)
    (evidence / "studies" / "trial2020.yaml").write_text(
        (evidence / "studies" / "trial2020.yaml").read_text().replace(
            "Only 60 people took part", "Just 60 people took part"))
    real_replace = os.replace

    def replace_then_fail(src, dst):
        if Path(dst).name == "citation-summary.md":  # the third file written
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace_then_fail)
    with pytest.raises(InputError, match="cannot write"):
        render.build(evidence, out)
    # The build is staged and swapped in whole: a failure leaves the previous build, every file.
    assert _tree(out) == old
    assert sorted(p.name for p in out.parent.iterdir() if p.name.startswith(".out.")) == [
        ".out.lock"], "no staging folder or temporary file left behind"


# ---------------------------------------------------------------------------------------------
# readability


def _hard_caveat(evidence: Path) -> None:
    path = evidence / "studies" / "trial2020.yaml"
    hard = ("Methodological heterogeneity, unexplained inconsistency, considerable imprecision, "
            "questionable generalisability and inadequately characterised allocation concealment "
            "substantially undermine the interpretability of aggregated standardised differences "
            "reported by contemporaneous systematic investigations of myofascial interventions")
    path.write_text(path.read_text().replace(
        "    text: People were followed for only four weeks.", f"    text: {hard}"))


def test_text_above_grade_10_fails_the_build_and_writes_nothing(evidence, tmp_path, no_pdf):
    out = tmp_path / "out"
    render.build(evidence, out)
    old = _tree(out)
    _hard_caveat(evidence)
    report = render.build(evidence, out)
    assert not report.ok
    assert len(report.problems) == 1
    problem = report.problems[0]
    assert "neck-pain" in problem and "grade" in problem and "above the limit of 10" in problem
    assert "caveats may not be dropped" in problem
    assert _tree(out) == old


def test_cli_build_exits_1_naming_the_question_and_its_grade(evidence, tmp_path, no_pdf, capsys):
    _hard_caveat(evidence)
    rc = main(["build", "--evidence", str(evidence), "--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert rc == 1
    assert re.search(r"question 'neck-pain' .* reads at US grade \d+\.\d, above the limit of 10",
                     captured.err)
    assert "FAILED" in captured.out


def test_cli_build_text_and_json(evidence, tmp_path, no_pdf, capsys):
    rc = main(["build", "--evidence", str(evidence), "--out", str(tmp_path / "out")])
    text = capsys.readouterr().out
    assert rc == 0
    assert "wrote leaflet.html" in text
    assert re.search(r"neck-pain\s+grade\s+\d+\.\d\s+ok", text)
    assert "PDF: leaflet.pdf not written: Chromium is not installed" in text
    rc = main(["build", "--evidence", str(evidence), "--out", str(tmp_path / "out"),
               "--format", "json"])
    payload = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert payload["ok"] is True
    assert set(payload) >= {"ok", "written", "readability", "pdf", "problems"}


def test_cli_build_bad_evidence_folder_exits_2(tmp_path, capsys):
    rc = main(["build", "--evidence", str(tmp_path / "missing"), "--out", str(tmp_path / "out")])
    assert rc == 2
    assert "evidence folder not found" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_stale_pdf_is_removed_when_chromium_is_absent(evidence, tmp_path, no_pdf):
    out = tmp_path / "out"
    out.mkdir()
    (out / "leaflet.pdf").write_bytes(b"%PDF old")
    report = render.build(evidence, out)
    assert not (out / "leaflet.pdf").exists()
    assert any("removed leaflet.pdf" in n for n in report.notes)


# ---------------------------------------------------------------------------------------------
# the bundled evidence (`make run`)


@pytest.fixture(scope="module")
def bundled_build(bundled_library, tmp_path_factory):
    """``make run``'s build of the bundled evidence, once for the tests below. Depends on
    ``bundled_library``, so evidence that does not load fails these tests with its errors."""
    out = tmp_path_factory.mktemp("bundled") / "out"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pdf_module, "find_chromium", lambda: None)
        report = render.build(ROOT / "evidence", out)
    return report, out


def test_bundled_evidence_builds(bundled_build, bundled_library):
    report, out = bundled_build
    assert report.ok, report.summary()
    claims = json.loads((out / "claims.json").read_text())["claims"]
    assert claims and {c["question"] for c in claims} == set(bundled_library.questions)
    from evidencekit.evidence.bibliography import load_bibtex

    bib = load_bibtex(ROOT / "evidence" / "references.bib")
    html = (out / "leaflet.html").read_text()
    leaflet = (out / "leaflet.md").read_text()
    summary = (out / "clinician-summary.md").read_text()
    for c in claims:
        assert c["caveats"], f"{c['question']}: no caveats"
        if c["direction"] != "no-evidence":
            assert c["citations"], f"{c['question']}: no citations"
        for key in (*c["citations"], *c.get("contrary_citations", [])):
            assert key in bib, f"{c['question']} cites {key}, not in references.bib"
        # a finding is worded in the leaflet; what we do not know may be left to the clinician
        # summary when the leaflet would pass its word limit (the leaflet then says so)
        unknown = c["direction"] == "no-evidence" or c["certainty"] == "very low"
        for sentence in _shown_sentences(c["claim"]):
            assert render.md_escape(sentence) in (summary if unknown else leaflet), sentence
    for r in report.readability:
        assert r.grade <= render.READABILITY_LIMIT
    known = [c for c in claims if c["direction"] != "no-evidence" and c["certainty"] != "very low"]
    assert 0 < html.count('<li value="') <= len(claims) and html.count('<li value="') >= len(
        {c["question"] for c in known})


def test_every_study_named_in_the_leaflet_carries_its_reference_number(bundled_build):
    # A study's caveats printed without a number would leave the reader no way to its source;
    # that includes studies read but not counted as support, and contrary ones. The per-study
    # caveats are in the clinician summary; its numbers and the leaflet's must resolve.
    _, out = bundled_build
    md = (out / "clinician-summary.md").read_text()
    headings = re.findall(r"^- \*\*(.+?)\*\*( \[\d+\])?: ", md, flags=re.M)
    assert headings, "no per-study caveat groups found in clinician-summary.md"
    unnumbered = [title for title, number in headings if not number]
    assert unnumbered == []
    n_refs = len(re.findall(r"^\d+\. ", md.split("## References", 1)[-1], flags=re.M))
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", md)}
    assert cited and max(cited) <= n_refs


def _shown_sentences(claim: str) -> list[str]:
    """The sentences of a claim the leaflet line prints: all but the one naming the comparator
    (the line names it) and GRADE's "very uncertain about the effect of ..." (the heading names
    the outcome, the marker the certainty)."""
    import re

    sentences = re.split(r"(?<=[.!?])\s+(?=[A-Z])", " ".join(claim.split()))
    return [s for s in sentences if not s.startswith(("The studies compared it with ",
                                                      "The evidence is very uncertain about "))]
