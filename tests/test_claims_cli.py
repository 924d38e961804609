"""`evidencekit claims`: the JSON contract (DESIGN.md), the text report, exit codes."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from evidencekit.cli import EXIT_OK, EXIT_USAGE, main

from test_certainty import EVIDENCE, estimate, question, study  # noqa: E402

CONTRACT_KEYS = ("question", "claim", "certainty", "caveats", "citations", "records")
LEVELS = {"high", "moderate", "low", "very low", "no evidence"}

BIB = """@article{trial,
  author = {Doe, Jane},
  title = {A trial of dry needling},
  journal = {J Test},
  year = {2020},
}
"""


@pytest.fixture()
def tiny_evidence(tmp_path: Path) -> Path:
    """A one-study, one-question evidence folder written from typed records."""
    from evidencekit.evidence.records import Caveat

    s = study(n=800, results=[estimate(est=-2.0, lo=-2.5, hi=-1.5)],
              caveats=[Caveat(kind="short-follow-up", text="Results were checked at 4 weeks only.")])
    q = question([("trial", ["r1"], None)], qid="pain-short-term", title="Pain relief")
    (tmp_path / "studies").mkdir()
    (tmp_path / "studies" / "trial.yaml").write_text(
        yaml.safe_dump(s.model_dump(mode="json", exclude_none=True), sort_keys=False))
    (tmp_path / "questions.yaml").write_text(
        yaml.safe_dump({"questions": [q.model_dump(mode="json", exclude_none=True)]},
                       sort_keys=False))
    (tmp_path / "references.bib").write_text(BIB)
    return tmp_path


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_json_contract_on_tiny_evidence(capsys, tiny_evidence):
    code, out, _ = _run(capsys, "claims", "--evidence", str(tiny_evidence), "--format", "json")
    assert code == EXIT_OK
    payload = json.loads(out)
    assert list(payload) == ["claims"]
    (claim,) = payload["claims"]
    for key in CONTRACT_KEYS:
        assert key in claim
    assert claim["question"] == "pain-short-term"
    assert claim["certainty"] == "high"
    assert claim["claim"].startswith("Dry needling reduces neck pain")
    assert claim["citations"] == ["trial"]
    assert claim["records"] == ["trial#r1"]
    assert "Results were checked at 4 weeks only." in claim["caveats"]


def test_text_report_on_tiny_evidence(capsys, tiny_evidence):
    code, out, _ = _run(capsys, "claims", "--evidence", str(tiny_evidence))
    assert code == EXIT_OK
    assert "[pain-short-term]" in out and "certainty: high" in out
    assert "Dry needling reduces neck pain" in out and "citations: trial" in out


def test_missing_folder_is_usage_error_without_traceback(capsys, tmp_path):
    code, out, err = _run(capsys, "claims", "--evidence", str(tmp_path / "nope"), "--format", "json")
    assert code == EXIT_USAGE
    assert "Traceback" not in err and err.startswith("evidencekit:")
    assert out == ""


def test_bundled_json_contract(capsys):
    from evidencekit.errors import InputError
    from evidencekit.validation import load_library

    try:
        lib = load_library(EVIDENCE)
    except InputError as exc:
        pytest.skip(f"bundled evidence does not load yet: {exc}")
    code, out, _ = _run(capsys, "claims", "--evidence", str(EVIDENCE), "--format", "json")
    assert code == EXIT_OK
    claims = json.loads(out)["claims"]
    # one claim per comparison, in question order; every question answered
    assert list(dict.fromkeys(c["question"] for c in claims)) == list(lib.questions)
    for qid in lib.questions:
        kinds = [c["comparator_kind"] for c in claims if c["question"] == qid]
        assert len(kinds) == len(set(kinds)), (qid, kinds)  # never two claims of one kind
    for c in claims:
        assert c["certainty"] in LEVELS
        assert isinstance(c["claim"], str) and c["claim"]
        assert c["caveats"] and all(isinstance(x, str) for x in c["caveats"])
        assert set(c["citations"]) <= set(lib.references)
