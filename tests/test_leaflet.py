"""The bundled review's leaflet read as a patient would, and the clinician and citation summaries.

Issue 13's checks on a fresh build of ``evidence/``: the leaflet body (before the references) is
at most 1,200 words with none of the banned words, no bullet twice, each caveat once, harms in
their own column, the sections a patient needs (questions to ask, other options, who should not
have it, how sure we are, who wrote it and when); the tool's own audit flags none of its
sentences; the clinician summary and citation summary carry the detail.
"""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from evidencekit.outputs import build as render
from evidencekit.audit import audit_text
from evidencekit.outputs.leaflet import LEAFLET_WORD_LIMIT
from evidencekit.outputs.presentation import PATIENT_BANNED_WORDS, jargon_in, word_count

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("leaflet") / "out"
    report = render.build(ROOT / "evidence", out, pdf=False)
    assert report.ok, report.summary()
    return out


@pytest.fixture(scope="module")
def claims():
    from evidencekit import load_library, make_claims

    return make_claims(load_library(ROOT / "evidence"), by_comparison=True)


def _body(md: str) -> str:
    return md.split("\n## References", 1)[0]


def test_leaflet_body_is_short_enough(built):
    body = _body((built / "leaflet.md").read_text(encoding="utf-8"))
    assert word_count(body) <= LEAFLET_WORD_LIMIT


def test_word_count_counts_words_as_a_reader_does():
    assert word_count("Dry-needling may help a bit (about 1 in 5).") == 9
    assert word_count("**How sure are we?** Low.") == 5


def _user_jargon(claims) -> list[str]:
    # Banned words the leaflet may carry: those in caveats written in the evidence folder (kept as
    # written, never dropped; the build warns about them). None in sentences the code writes.
    from evidencekit import load_library
    from evidencekit.outputs.leaflet import leaflet_model

    model = leaflet_model(claims, load_library(ROOT / "evidence"))
    return sorted(w for warning in model.jargon_warnings for w in warning.words)


def test_patient_text_uses_none_of_the_banned_words(built, claims):
    allowed = _user_jargon(claims)
    for name in ("leaflet.md", "leaflet.html"):
        text = (built / name).read_text(encoding="utf-8")
        if name.endswith(".html"):
            text = re.sub(r"<style>.*?</style>|<[^>]+>", " ", text, flags=re.S)
            text = text.split("References", 1)[0] if "References" in text else text
        found = jargon_in(_body(text) if name.endswith(".md") else text)
        assert sorted(found) == allowed, f"{name}: {found}"


def test_the_bundled_leaflet_carries_no_banned_word_at_all(claims):
    """The bundled review's own caveats are written in patient words (issue 13: none of the
    banned words), so the leaflet has nothing to warn about."""
    assert _user_jargon(claims) == []


def test_jargon_in_the_evidence_folders_text_is_warned_about_with_file_and_field(built,
                                                                                claims):
    from evidencekit import load_library
    from evidencekit.outputs.leaflet import leaflet_model

    model = leaflet_model(claims, load_library(ROOT / "evidence"))
    for warning in model.jargon_warnings:
        assert warning.file in ("questions.yaml", "review.yaml") or \
            warning.file.startswith("studies/")
        assert warning.field
        # the caveat is still in the leaflet, as written
        body = _body((built / "leaflet.md").read_text(encoding="utf-8"))
        assert render.md_escape(warning.text) in body
    # the build reports the same warnings
    report = render.build(ROOT / "evidence", built.parent / "again", pdf=False)
    warned = [n for n in report.notes if n.startswith("warning: ")]
    assert len(warned) == len(model.jargon_warnings)


def test_no_sentence_the_code_writes_uses_a_banned_word():
    from evidencekit.grade.wording import default_templates

    for key, template in default_templates().items():
        assert jargon_in(template) == [], key


def test_every_caveat_of_every_claim_is_in_the_leaflet_or_its_studys_entry(built, claims):
    # Each claim-level caveat (about the evidence as a whole) is in the leaflet, once; a caveat
    # of one study is in the clinician summary beside that study. None is left out. When the
    # leaflet leaves the comparisons we know nothing about to the clinician summary (to fit the
    # word limit), a caveat that bears only on those is there, under each of them.
    from evidencekit import load_library
    from evidencekit.outputs.leaflet import fitted_leaflet_model
    from evidencekit.outputs.presentation import certainty_of, group_caveats

    library = load_library(ROOT / "evidence")
    model = fitted_leaflet_model(claims, library)
    body = _body((built / "leaflet.md").read_text(encoding="utf-8"))
    summary = (built / "clinician-summary.md").read_text(encoding="utf-8")
    referred = set(model.referred_caveats)
    for c in claims:
        general, by_study = group_caveats(c, library)
        for caveat in general:
            if caveat in referred:
                assert certainty_of(c) in ("very low", "no evidence"), caveat
                assert body.count(render.md_escape(caveat)) == 0, caveat
                assert render.md_escape(caveat) in summary, caveat
            else:
                assert body.count(render.md_escape(caveat)) == 1, caveat
        for _, texts in by_study:
            for caveat in texts:
                assert render.md_escape(caveat) in summary, caveat


def test_no_vote_count_reaches_patient_text(built):
    body = _body((built / "leaflet.md").read_text(encoding="utf-8"))
    assert not re.search(r"\b(?:only \d+ of \d+|none of the \d+) stud", body, flags=re.I)
    assert "The others did not" not in body


def test_the_banned_list_names_the_jargon_of_issue_13():
    lowered = {w.lower() for w in PATIENT_BANNED_WORDS}
    for word in ("p-value", "meta-analysis", "jospt", "single-blind", "protocol",
                 "heterogeneity", "in what we could read"):
        assert word in lowered
    assert jargon_in("SMD, CI, DN and MET") == ["SMD", "CI", "DN", "MET"]


def test_no_bullet_is_repeated(built):
    body = _body((built / "leaflet.md").read_text(encoding="utf-8"))
    bullets = [line[2:].strip() for line in body.splitlines() if line.startswith("- ")]
    assert bullets
    repeated = [b for b, n in Counter(bullets).items() if n > 1]
    assert repeated == []


def test_each_caveat_of_the_leaflet_is_said_once(built, claims):
    body = _body((built / "leaflet.md").read_text(encoding="utf-8"))
    for c in claims:
        for caveat in c.caveats:
            escaped = render.md_escape(caveat)
            assert body.count(escaped) <= 1, caveat


def test_a_patient_finds_every_section_the_issue_asks_for(built):
    md = (built / "leaflet.md").read_text(encoding="utf-8")
    for heading in ("## What is ", "## Key messages", "### Possible benefits",
                    "### Possible harms", "## How often side effects happen",
                    "## Who should not have it, or should ask first", "## Other options",
                    "## Questions to ask ", "## How sure are we?", "## About this leaflet",
                    "## References"):
        assert heading in md, heading
    for line in ("Written by: evidencekit maintainers.", "Conflicts of interest: None declared.",
                 "Review date: 2026-12-01."):
        assert line in md
    # there was no dated search: the leaflet says how the studies were found instead
    assert "How the studies were found: not by a systematic search" in md
    assert "searched up to" not in md
    for level in ("**High**", "**Moderate**", "**Low**", "**Very low**", "**No evidence**"):
        assert level in md
    # the most certain finding leads the key messages
    messages = md.split("## Key messages", 1)[1].split("## How often", 1)[0]
    first = re.search(r"^1\. .*?\((high|moderate|low|very low) certainty\)", messages,
                      flags=re.M).group(1)
    assert first == "moderate"
    # the certainty is said in words, never as a bare bracket beside the reference numbers
    assert not re.search(r"\((?:high|moderate|low|very low)\)", messages)


def test_every_key_message_names_its_comparator(built, claims):
    from evidencekit import load_library
    from evidencekit.outputs.presentation import claim_comparator

    from evidencekit.outputs.leaflet import fitted_leaflet_model
    from evidencekit.outputs.presentation import certainty_of

    library = load_library(ROOT / "evidence")
    model = fitted_leaflet_model(claims, library)
    md = (built / "leaflet.md").read_text(encoding="utf-8")
    lines = [line for line in _body(md).splitlines() if re.match(r"\d+\. ", line)]
    # one line per comparison, or fewer where comparisons read the same; never more
    assert 0 < len(lines) <= len(claims)
    for c in claims:
        comparator = claim_comparator(c, library)
        if model.unknowns == "referred" and certainty_of(c) in ("very low", "no evidence"):
            continue  # in the clinician summary, which names every comparison
        if comparator.endswith("(no comparison group)"):
            named = "**No comparison group**"  # a survey of treated people compares nothing
        else:
            named = render.md_escape(comparator)
        assert any(named in line for line in lines), comparator
    if model.unknowns == "referred":
        assert "The clinician summary lists them with what to keep in mind." in md
    # the line names the comparator: the claim does not say it again
    assert "The studies compared it with" not in _body(md)
    # the certainty levels are explained once, not in every line
    assert md.count("How sure are we?") <= 3


def test_the_tools_own_audit_flags_nothing_in_the_leaflet(built, claims):
    for name, fmt in (("leaflet.html", "html"), ("leaflet.md", "markdown")):
        report = audit_text((built / name).read_text(encoding="utf-8"), claims,
                            source_format=fmt, topics=ROOT / "evidence")  # its topic file
        flagged = [(f.verdict, f.text) for f in report.findings if f.verdict != "supported"]
        assert flagged == [], f"{name}: {flagged}"


def test_the_audit_check_would_see_an_overstated_sentence(claims):
    # Guard: the same call flags a sentence the evidence does not allow.
    report = audit_text("<p>Dry needling cures neck pain in everyone.</p>", claims,
                        source_format="html")
    assert any(f.verdict != "supported" for f in report.findings)


def test_the_clinician_summary_has_each_question_its_studies_and_what_was_left_out(built,
                                                                                   claims):
    md = (built / "clinician-summary.md").read_text(encoding="utf-8")
    html = (built / "clinician-summary.html").read_text(encoding="utf-8")
    for c in claims:
        assert f"## {render.md_escape(c.title)}" in md
        for note in getattr(c, "considered", ()):
            assert render.md_escape(note.reason) in md
    assert md.count("| Studies | Effect | Certainty |") == len(claims)
    assert md.count("### Left out, and why") == len(claims)
    # forest plots of the questions that have them, as files written beside the summary
    for img in re.findall(r'<img src="([^"]+)"', html):
        assert (built / img).is_file(), img
    assert re.search(r'<img src="figures/forest-[a-z0-9-]+\.png" alt="[^"]+"', html)


def test_the_citation_summary_follows_the_leaflets_reference_numbers(built):
    text = (built / "citation-summary.md").read_text(encoding="utf-8")
    assert "## Contents" in text
    leaflet_refs = re.findall(r"^(\d+)\. (.+)$",
                              (built / "leaflet.md").read_text().split("## References", 1)[1],
                              flags=re.M)
    numbered = [int(n) for n in re.findall(r"^## \[(\d+)\] ", text, flags=re.M)]
    assert numbered == list(range(1, len(leaflet_refs) + 1))
    assert "(Not in the notes.)" not in text
    doubled = re.findall(r"\b([A-Za-z]+) \1\b", text)
    assert [d for d in doubled if d.lower() not in {"that", "had"}] == []


def test_a_review_of_another_topic_speaks_only_of_that_topic(tmp_path):
    # Issue 11: the topic lives in the evidence folder. The fixture review rewritten as a review
    # of yoga must come out without a word of the bundled review's topic.
    from evidence_fixture import make_evidence

    evidence = make_evidence(tmp_path)
    for path in [evidence / "references.bib", evidence / "questions.yaml",
                 *(evidence / "studies").glob("*.yaml")]:
        text = path.read_text(encoding="utf-8")
        for old, new in (("Dry needling", "Yoga"), ("dry needling", "yoga"),
                         ("Sham needling", "Stretching"), ("sham needling", "stretching"),
                         ("trigger_points: active", "trigger_points: not-applicable"),
                         (" and trigger points", ""), ("No fake needling", "No fake yoga"),
                         ("neck pain", "back pain"), ("Neck pain", "Back pain")):
            text = text.replace(old, new)
        path.write_text(text, encoding="utf-8")
    report = render.build(evidence, tmp_path / "out", pdf=False)
    assert report.ok, report.summary()
    topic = re.compile(r"dry.?needl|needle|trigger.?point|whiplash|myofascial|neck pain", re.I)
    for name in ("leaflet.md", "leaflet.html", "clinician-summary.md", "clinician-summary.html",
                 "citation-summary.md"):
        text = (tmp_path / "out" / name).read_text(encoding="utf-8")
        assert not topic.search(text), f"{name}: {topic.search(text).group(0)}"
    html = (tmp_path / "out" / "leaflet.html").read_text(encoding="utf-8")
    assert "<title>Yoga: what the research says</title>" in html


def test_no_topic_words_in_the_output_code():
    topic = re.compile(r"dry.?needl|needle|trigger.?point|whiplash|myofascial|neck pain", re.I)
    src = ROOT / "src" / "evidencekit"
    files = sorted((src / "outputs").glob("*.py"))
    assert len(files) >= 8, "the outputs package moved: point this test at it"
    files += sorted((src / "review").glob("*.py"))
    files += sorted((src / "templates").glob("*.j2"))
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0] if path.suffix == ".py" else line
            assert not topic.search(code), f"{path.name}:{number}: {line.strip()}"


SURVEY = """\
id: survey2021
short_title: Side effects survey
design: case-series
population:
  description: People treated in 20 clinics
  n: 400
  provenance:
    source: https://example.org/survey2021
    quote: "400 people"
outcomes:
  - id: soreness
    domain: adverse-events
    instrument: Soreness after treatment
    better: lower
results:
  - id: soreness-count
    kind: proportion
    outcome: soreness
    time_point: within 48 hours
    contrast: single-group
    direction: unclear
    events: 80
    total: 400
    provenance:
      source: https://example.org/survey2021
      quote: "80 of 400 people reported soreness"
risk_of_bias:
  tool: not applicable
  overall: not-applicable
  reason: A survey without a comparison group.
caveats:
  - kind: no-control
    text: There was no comparison group, so we cannot tell what caused the soreness.
"""

SURVEY_BIB = """
@article{survey2021,
  author  = {Green, Eve},
  title   = {Side effects in 400 people: a survey},
  journal = {Clin Rep},
  year    = {2021},
  volume  = {2},
  pages   = {1--4},
  doi     = {10.1000/cr.2021.2}
}
"""

HARM_QUESTION = """\
  - id: harms
    title: Side effects
    population: adults
    intervention: dry needling
    comparator: no treatment
    outcome: side effects
    outcome_domains: [adverse-events]
    time_window: after treatment
    kind: harm
    evidence:
      - study: survey2021
        results: [soreness-count]
    topics: [side effects]
"""


def test_a_single_group_count_of_side_effects_becomes_a_natural_frequency(tmp_path):
    from evidence_fixture import make_evidence

    evidence = make_evidence(tmp_path)
    (evidence / "studies" / "survey2021.yaml").write_text(SURVEY, encoding="utf-8")
    with open(evidence / "references.bib", "a", encoding="utf-8") as fh:
        fh.write(SURVEY_BIB)
    with open(evidence / "questions.yaml", "a", encoding="utf-8") as fh:
        fh.write(HARM_QUESTION)
    report = render.build(evidence, tmp_path / "out", pdf=False)
    assert report.ok, report.summary()
    md = (tmp_path / "out" / "leaflet.md").read_text(encoding="utf-8")
    section = md.split("## How often side effects happen", 1)[1].split("\n## ", 1)[0]
    assert "Soreness after treatment: about 1 in 5 people (Green 2021, 400 people)." in section
    assert re.search(r"people\)\. \[\d+\]", section), "the frequency carries its reference"


def test_what_is_it_takes_its_paragraph_from_the_review_settings(tmp_path):
    import shutil

    evidence = tmp_path / "evidence"
    shutil.copytree(ROOT / "evidence", evidence)
    settings = evidence / "review.yaml"
    import yaml

    values = yaml.safe_load(settings.read_text(encoding="utf-8"))
    paragraph = "A thin needle is put into a tender spot in a muscle."
    values.update(description=paragraph, description_source="A made-up guide 2020",
                  ask_first=["you take blood thinners"])
    settings.write_text(yaml.safe_dump(values), encoding="utf-8")
    report = render.build(evidence, tmp_path / "out", pdf=False)
    assert report.ok, report.summary()
    md = (tmp_path / "out" / "leaflet.md").read_text(encoding="utf-8")
    section = md.split("## What is ", 1)[1].split("\n## ", 1)[0]
    assert paragraph in section and "Ask your" not in section
    assert "(Source: A made-up guide 2020.)" in section
    assert "you take blood thinners" in md
    # without a description the reader is sent to the clinician named in the settings
    del values["description"], values["description_source"]
    settings.write_text(yaml.safe_dump(values), encoding="utf-8")
    report = render.build(evidence, tmp_path / "default", pdf=False)
    assert report.ok, report.summary()
    md = (tmp_path / "default" / "leaflet.md").read_text(encoding="utf-8")
    section = md.split("## What is ", 1)[1].split("\n## ", 1)[0]
    assert "Ask your doctor or therapist what dry needling involves" in section


def test_the_bundled_review_says_what_the_treatment_is_and_where_that_comes_from(built):
    md = (built / "leaflet.md").read_text(encoding="utf-8")
    section = md.split("## What is ", 1)[1].split("\n## ", 1)[0]
    assert "Ask your" not in section and "(Source: Gattie et al. 2017.)" in section


def test_a_description_without_its_source_is_refused(tmp_path):
    import shutil

    from evidencekit.evidence.settings import ReviewSettings

    with pytest.raises(ValueError, match="description_source"):
        ReviewSettings(intervention="yoga", description="Stretching poses.")
    evidence = tmp_path / "evidence"
    shutil.copytree(ROOT / "evidence", evidence)
    text = (evidence / "review.yaml").read_text(encoding="utf-8")
    (evidence / "review.yaml").write_text(
        re.sub(r"^description_source:.*$", "", text, flags=re.M), encoding="utf-8")
    from evidencekit.cli import main

    assert main(["validate", str(evidence)]) in (1, 2)


def test_a_comparison_group_is_not_offered_as_another_option(built):
    # "a comparison group" (a review that does not describe its control) is no treatment to choose
    md = (built / "leaflet.md").read_text(encoding="utf-8")
    options = md.split("## Other options", 1)[1].split("\n## ", 1)[0]
    assert "comparison group" not in options.lower()


def test_the_very_low_proportion_sentence_agrees_with_a_plural_outcome():
    from evidencekit.grade.wording import Wording

    sentence = Wording(None)("proportion_very_low", intervention="yoga",
                             outcome="mild side effects")
    assert "side effects happens" not in sentence
    assert sentence == ("The evidence is very uncertain about how often yoga is followed by mild "
                        "side effects.")


def test_the_leaflet_model_is_a_frozen_typed_value(claims):
    import dataclasses

    from evidencekit import load_library
    from evidencekit.outputs.leaflet import LeafletModel, leaflet_model

    model = leaflet_model(claims, load_library(ROOT / "evidence"))
    assert isinstance(model, LeafletModel)
    with pytest.raises(dataclasses.FrozenInstanceError):
        model.title = "changed"
    assert "key messages" in model.summary()
    frame = model.to_frame()
    assert len(frame) == len(model.messages) and "certainty" in frame.columns


def test_a_leaflet_that_does_not_fit_leaves_only_what_we_do_not_know_to_the_summary(claims):
    # The fullest form that fits is used; a caveat that bears on a finding stays in every form.
    from evidencekit import load_library
    from evidencekit.outputs.leaflet import fitted_leaflet_model, leaflet_model

    library = load_library(ROOT / "evidence")
    full = leaflet_model(claims, library, unknowns="full")
    referred = leaflet_model(claims, library, unknowns="referred")
    said = {c.text for b in referred.blocks for c in b.caveats}
    for block in full.blocks:
        for caveat in block.caveats:
            bears_on_a_finding = any(m.number in caveat.applies_to and m.known
                                     for m in full.messages)
            if bears_on_a_finding:
                assert caveat.text in said, caveat.text
            else:
                assert caveat.text in said or caveat.text in referred.referred_caveats
    # every printed message is a finding; every number a caveat names is printed
    printed = {m.number for m in referred.messages if m.number}
    assert all(m.known for m in referred.messages if m.number)
    for block in referred.blocks:
        for caveat in block.caveats:
            assert set(caveat.applies_to) <= printed
    assert fitted_leaflet_model(claims, library).unknowns in ("full", "brief", "referred")
    with pytest.raises(ValueError, match="unknowns"):
        leaflet_model(claims, library, unknowns="some")


def test_a_review_with_forty_comparisons_still_fits_and_says_where_the_rest_are():
    # 40 comparisons we know little about, each with its own caveat: the leaflet keeps its word
    # limit by leaving them to the clinician summary, says how many there are, and keeps the
    # findings (with every caveat that bears on them) in full.
    from types import SimpleNamespace

    from evidencekit.outputs.leaflet import fitted_leaflet_model, render_leaflet
    from evidencekit.outputs.presentation import word_count
    from evidencekit.evidence.bibliography import Reference

    refs = {f"s{i}": Reference(key=f"s{i}", entry_type="article", title=f"Trial {i}",
                               authors=("Smith AB",), author_parts=(("Smith", "Anna B"),),
                               journal="Pain J", year=2000 + i % 20, volume="1", pages="1-9")
            for i in range(41)}
    library = SimpleNamespace(references=refs, studies={}, questions={})

    def claim(i, certainty, text, caveats):
        c = SimpleNamespace(question=f"q{i}", title=f"Outcome number {i}", kind="benefit",
                            claim=text, certainty=certainty, direction="benefit" if
                            certainty == "moderate" else "unclear", caveats=caveats,
                            citations=(f"s{i}",), records=(), contrary_citations=())
        c.comparison = f"comparator number {i}"
        return c

    shared = "Most of the studies were small."
    claims = [claim(40, "moderate", "Yoga probably reduces pain a little.", (shared,))]
    claims += [claim(i, "very low", "We do not know if it helps.",
                     (shared, f"Only a few people took part in study {i}, so it may not apply."))
               for i in range(40)]
    model = fitted_leaflet_model(claims, library)
    assert model.unknowns == "referred"
    md = render_leaflet(claims, library, "md")
    body = md.split("\n## References", 1)[0]
    assert word_count(body) <= LEAFLET_WORD_LIMIT
    assert "For 40 more comparisons (40 on benefits)" in body
    assert "Yoga probably reduces pain a little." in body and body.count(shared) == 1
    assert len(model.referred_caveats) == 40
