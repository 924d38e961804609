"""The review team's decisions and the sensitivity analyses, end to end: questions.yaml ->
validate -> claims JSON -> the built clinician summary."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from evidencekit.cli import main

EVIDENCE = Path(__file__).resolve().parents[1] / "evidence"
QUESTION = "pain-added-to-other-care"
OVERRIDE_REASON = "Two reviewers judged both trials at low risk of bias on the full texts"
EXCLUDE_REASON = "Outcome scale changed after the trial was registered"

DECISIONS = f"""    decisions:
      overrides:
        risk-of-bias:
          change: 0
          reason: {OVERRIDE_REASON}
          decided_by: the review team
      exclude:
        - study: yeganehlari2016
          reason: {EXCLUDE_REASON}
          decided_by: A. Clinician
"""


def _with_block(tmp_path: Path, block: str, qid: str = QUESTION) -> Path:
    """A copy of the bundled evidence with ``block`` written under question ``qid``."""
    folder = tmp_path / "evidence"
    shutil.copytree(EVIDENCE, folder)
    path = folder / "questions.yaml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    at = lines.index(f"  - id: {qid}\n") + 1
    path.write_text("".join(lines[:at] + [block] + lines[at:]), encoding="utf-8")
    return folder


def _claims(folder: Path, capsys) -> list[dict]:
    assert main(["claims", "--evidence", str(folder), "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)["claims"]


def test_override_and_exclusion_show_in_claims_json(tmp_path, capsys):
    before = [c for c in _claims(EVIDENCE, capsys) if c["question"] == QUESTION]
    claims = [c for c in _claims(_with_block(tmp_path, DECISIONS), capsys)
              if c["question"] == QUESTION]
    assert before and claims
    for old, new in zip(before, claims):
        assert not old["decisions"] and not old["excluded"]
        assert any(r.startswith("yeganehlari2016") for r in old["records"])
        assert not any(r.startswith("yeganehlari2016") for r in new["records"])
        assert new["excluded"] == [{"study": "yeganehlari2016", "reason": EXCLUDE_REASON,
                                    "decided_by": "A. Clinician"}]
        assert new["domains"]["risk_of_bias"]["change"] == 0
        head = new["decisions"][0]
        assert "by the review team" in head and OVERRIDE_REASON in head
        assert f"from {old['certainty']} to {new['certainty']}" in head
        # the disclosure travels with the caveats: the reader sees it beside them
        assert head in new["caveats"]
        assert any(EXCLUDE_REASON in d and "A. Clinician" in d for d in new["decisions"])


def test_decisions_show_in_built_clinician_summary(tmp_path, capsys):
    folder = _with_block(tmp_path, DECISIONS)
    out = tmp_path / "build"
    assert main(["build", "--evidence", str(folder), "--out", str(out)]) == 0
    for name in ("clinician-summary.md", "clinician-summary.html"):
        text = (out / name).read_text(encoding="utf-8")
        assert OVERRIDE_REASON in text, name
        assert EXCLUDE_REASON in text and "A. Clinician" in text, name
        assert "Decisions by the review team" in text, name


@pytest.mark.parametrize("block, field, words", [
    (DECISIONS.replace("risk-of-bias:", "risk-of-bais:"), "overrides.risk-of-bais", "risk-of-bias"),
    (DECISIONS.replace("yeganehlari2016", "nosuchstudy2099"), "exclude[0].study", "nosuchstudy"),
    (DECISIONS.replace("          decided_by: A. Clinician\n", ""), "exclude[0]", "decided_by"),
    (DECISIONS.replace(f"reason: {OVERRIDE_REASON}", "reason: ''"), "reason", "reason"),
    ("    assumed_ri: 1.5\n", "assumed_ri", "1"),
])
def test_bad_decision_fails_validate_naming_file_line_field(tmp_path, capsys, block, field,
                                                             words):
    folder = _with_block(tmp_path, block)
    assert main(["validate", str(folder), "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    errors = [m for m in report["errors"] if field in (m.get("field") or "")]
    assert errors, report["errors"]
    assert all(m["file"].endswith("questions.yaml") and m["line"] for m in errors)
    assert any(words in m["message"] for m in errors)


def test_assumed_ri_in_range_validates(tmp_path, capsys):
    folder = _with_block(tmp_path, "    assumed_ri: 0.6\n")
    assert main(["validate", str(folder), "--format", "json"]) == 0


def test_every_pooled_effect_claim_carries_sensitivity(capsys):
    claims = _claims(EVIDENCE, capsys)
    pooled = [c for c in claims if c["effect"] and c["effect"]["source"] == "meta-analysis"]
    assert pooled
    for c in claims:
        if c in pooled:
            assert len(c["sensitivity"]) >= 2, c["question"]
            for row in c["sensitivity"]:
                assert {"analysis", "estimate", "ci_low", "ci_high", "k"} <= set(row)
                assert 1 <= row["k"] <= c["effect"]["k"]
        else:
            assert c["sensitivity"] == []
            # an effect that cannot be re-run says why
            assert (c["effect"] is None) or c["sensitivity_note"], c["question"]


def test_sensitivity_rows_on_the_effect_scale(capsys):
    """A pooled proportion is shown as a proportion, like the claim's effect."""
    for c in _claims(EVIDENCE, capsys):
        if c["sensitivity"] and c["effect"]["measure"] in ("PLO", "PR", "PAS", "PFT"):
            for row in c["sensitivity"]:
                assert 0 <= row["estimate"] <= 1, row
