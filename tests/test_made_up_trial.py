"""Issue 10's reproductions: a trial's arm data are used, and a typed direction must agree."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from evidencekit.grade.rating import level_index
from evidencekit.grade.claims import make_claims
from evidencekit.validation import load_library, validate_evidence

EVIDENCE = Path(__file__).resolve().parents[1] / "evidence"

TRIAL = """\
id: madeup2026
short_title: A made-up trial for a test (Madeup 2026)
design: randomised-trial
randomised: true
population:
  description: Adults with neck pain
  n: 60
  provenance:
    source: made up for a test
    quote: "60 adults, 30 per arm"
    inference: a made-up trial; nothing here is from a paper
arms:
  - {id: dn, label: Treatment, role: intervention, intervention: the treatment}
  - {id: sham, label: Sham, role: comparator, intervention: a sham, sham: true,
     comparator_kind: sham-or-placebo}
outcomes:
  - {id: nprs, domain: pain, instrument: NPRS, scale: 0-10, better: lower}
results:
  - kind: arm-summary
    id: nprs-4wk
    outcome: nprs
    time_point: 4 weeks
    contrast: between-groups
    {DIRECTION}
    arms:
      - {arm: dn, mean: 2.5, sd: 1.8, n: 30}
      - {arm: sham, mean: 4.1, sd: 2.0, n: 30}
    provenance:
      source: made up for a test
      quote: "NPRS 2.5 (1.8) vs 4.1 (2.0), 30 per arm"
risk_of_bias: {tool: RoB 2, overall: low, reason: made up for a test}
funding: none
conflicts: none
"""

BIB = "\n@misc{madeup2026,\n  author = {Madeup, A.},\n  title = {A made-up trial},\n  year = {2026}\n}\n"


def _with_trial(tmp_path: Path, direction: str = "") -> Path:
    root = tmp_path / "evidence"
    shutil.copytree(EVIDENCE, root)
    (root / "studies" / "madeup2026.yaml").write_text(
        TRIAL.replace("{DIRECTION}", direction or "note: direction derived from the data"),
        encoding="utf-8")
    with (root / "references.bib").open("a", encoding="utf-8") as fh:
        fh.write(BIB)
    text = (root / "questions.yaml").read_text(encoding="utf-8")
    # the trial goes first into pain-short-term's evidence, whichever study is listed first there
    question = text.index("  - id: pain-short-term\n")
    anchor = text.index("    evidence:\n", question) + len("    evidence:\n")
    text = (text[:anchor] + "      - study: madeup2026\n        results: [nprs-4wk]\n"
            + text[anchor:])
    (root / "questions.yaml").write_text(text, encoding="utf-8")
    return root


@pytest.mark.parametrize("by_comparison", [False, True])
def test_a_positive_trial_never_weakens_the_pain_claim(tmp_path, by_comparison):
    before = make_claims(load_library(EVIDENCE), by_comparison=by_comparison)
    after = make_claims(load_library(_with_trial(tmp_path)), by_comparison=by_comparison)
    old = [c for c in before if c.question == "pain-short-term"]
    new = [c for c in after if c.question == "pain-short-term"]
    kind_of = {c.comparator_kind: c for c in old}
    for claim in new:
        prior = kind_of.get(claim.comparator_kind) if by_comparison else old[0]
        if prior is None:
            continue  # a comparison the trial opened: nothing to weaken
        assert level_index(claim.certainty) >= level_index(prior.certainty), (
            prior.certainty, claim.certainty, claim.certainty_reasons)
        if prior.direction == "benefit":
            assert claim.direction == "benefit"
    # the trial's data are used: its record is cited where its comparison is claimed
    assert any("madeup2026#nprs-4wk" in c.records or "madeup2026" in c.citations
               or "madeup2026" in (c.effect or {}).get("records", []) for c in new)


def test_the_trial_s_mean_difference_is_computed_from_its_arms(tmp_path):
    from evidencekit.stats.synthesis import study_effect

    lib = load_library(_with_trial(tmp_path))
    study = lib.study("madeup2026")
    eff = study_effect(study.result("nprs-4wk"), study)
    assert eff.measure == "MD" and eff.yi == pytest.approx(-1.6)
    half = 1.959963984540054 * eff.vi ** 0.5
    assert (eff.yi - half, eff.yi + half) == pytest.approx((-2.563, -0.637), abs=1e-3)


def test_typed_direction_contradicting_the_arm_data_is_an_error(tmp_path):
    root = _with_trial(tmp_path, direction="direction: harm")
    report = validate_evidence(root)
    assert not report.ok
    (err,) = [m for m in report.errors if "contradicts" in m.message]
    assert err.file.endswith("madeup2026.yaml")
    assert err.field == "results[0].direction"
    lines = (root / "studies" / "madeup2026.yaml").read_text().splitlines()
    assert err.line == lines.index("    direction: harm") + 1
    assert "benefit" in err.message


def test_typed_direction_that_agrees_is_accepted(tmp_path):
    assert validate_evidence(_with_trial(tmp_path, direction="direction: benefit")).ok


def test_arm_n_above_randomised_n_is_an_error(tmp_path):
    root = _with_trial(tmp_path)
    path = root / "studies" / "madeup2026.yaml"
    path.write_text(path.read_text().replace(
        "role: intervention, intervention: the treatment}",
        "role: intervention, intervention: the treatment, n_randomised: 25,\n"
        "     provenance: {source: made up, quote: '25 randomised'}}"), encoding="utf-8")
    report = validate_evidence(root)
    errs = [m for m in report.errors if "randomised 25" in m.message]
    assert errs and errs[0].field == "results[0].arms[0].n"
