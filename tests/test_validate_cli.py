"""`evidencekit validate` and `evidencekit studies`: output formats and exit codes (DESIGN.md)."""
from __future__ import annotations

import json
import re

import pytest

from evidencekit.cli import main
from test_library import make_evidence

SMITH = "studies/smith2020.yaml"
# file:line [field]: severity: message  (the line and field parts appear where known)
MESSAGE_LINE = re.compile(r"^\s+(?P<file>[^\s:]+)(?::(?P<line>\d+))?(?: \[(?P<field>.+?)\])?: "
                          r"(?P<severity>error|warning): (?P<message>.+)$")


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_valid_folder_exit_0_text(tmp_path, capsys):
    root = make_evidence(tmp_path)
    code, out, err = run(capsys, "validate", str(root))
    assert code == 0
    assert "OK: no errors" in out
    assert "studies: 3" in out and "numbers: 20   with provenance: 20" in out
    assert err == ""


def test_valid_folder_json_contract(tmp_path, capsys):
    root = make_evidence(tmp_path)
    code, out, _ = run(capsys, "validate", str(root), "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["ok"] is True
    assert data["studies"] == 3
    assert data["study_ids"] == ["jones2019", "lee2021", "smith2020"]
    assert data["numbers"] == data["numbers_with_provenance"] == 20
    assert data["errors"] == [] and data["warnings"] == []


def test_evidence_option_and_default_folder(tmp_path, capsys, monkeypatch):
    root = make_evidence(tmp_path)
    code, out, _ = run(capsys, "validate", "--evidence", str(root), "--format", "json")
    assert code == 0 and json.loads(out)["studies"] == 3
    monkeypatch.chdir(tmp_path)  # ./evidence is the default
    code, out, _ = run(capsys, "validate", "--format", "json")
    assert code == 0 and json.loads(out)["evidence_dir"] == "evidence"


def test_errors_exit_1_and_print_file_line_field_message(tmp_path, capsys):
    root = make_evidence(tmp_path, edits=[(SMITH, "sd: 1.2", "sd: 0"),
                                          (SMITH, "design: randomised-trial",
                                           "design: randomized-trial")])
    code, out, _ = run(capsys, "validate", str(root))
    assert code == 1
    lines = [MESSAGE_LINE.match(line) for line in out.splitlines()]
    found = [(m["file"], m["line"], m["field"]) for m in lines if m and m["severity"] == "error"]
    assert found == [(f"{root.as_posix()}/{SMITH}", "3", "design"),
                     (f"{root.as_posix()}/{SMITH}", "58", "results[1].arms[0].sd")]
    assert "FAILED: 2 error(s)" in out


def test_errors_exit_1_json(tmp_path, capsys):
    root = make_evidence(tmp_path, edits=[(SMITH, "sd: 1.2", "sd: 0")])
    code, out, _ = run(capsys, "validate", str(root), "--format", "json")
    assert code == 1
    data = json.loads(out)
    assert data["ok"] is False
    assert data["errors"] == [{
        "file": f"{root.as_posix()}/{SMITH}", "line": 58, "field": "results[1].arms[0].sd",
        "message": data["errors"][0]["message"]}]
    assert "greater than 0" in data["errors"][0]["message"]


def test_warnings_alone_exit_0(tmp_path, capsys):
    root = make_evidence(tmp_path, delete=["questions.yaml"])
    code, out, _ = run(capsys, "validate", str(root), "--format", "json")
    assert code == 0
    assert [w["file"] for w in json.loads(out)["warnings"]] == [f"{root.as_posix()}/questions.yaml"]


def test_missing_folder_exit_2_text_and_json(tmp_path, capsys):
    missing = tmp_path / "nowhere"
    code, out, err = run(capsys, "validate", str(missing))
    assert code == 2 and out == ""
    assert f"{missing.as_posix()}: error: evidence folder not found" in err
    code, out, err = run(capsys, "validate", str(missing), "--format", "json")
    assert code == 2
    data = json.loads(out)
    assert data["ok"] is False and data["errors"][0]["file"] == missing.as_posix()


def test_folder_that_is_a_file_exit_2(tmp_path, capsys):
    path = tmp_path / "evidence"
    path.write_text("not a folder")
    code, _, err = run(capsys, "validate", str(path))
    assert code == 2 and "is not a folder" in err


def test_studies_table_text(tmp_path, capsys):
    root = make_evidence(tmp_path)
    code, out, _ = run(capsys, "studies", "--evidence", str(root))
    assert code == 0
    header = out.splitlines()[0].split()
    assert header == ["short_title", "design", "n", "population", "follow_up", "risk_of_bias",
                      "results"]
    smith = next(line for line in out.splitlines() if line.startswith("smith2020"))
    assert "randomised-trial" in smith and " 40 " in smith and "some-concerns" in smith
    assert smith.rstrip().endswith("4")
    assert "<NA>" not in out and "NaN" not in out


def test_studies_table_json(tmp_path, capsys):
    root = make_evidence(tmp_path)
    code, out, _ = run(capsys, "studies", "--evidence", str(root), "--format", "json")
    assert code == 0
    rows = {row["key"]: row for row in json.loads(out)["studies"]}
    assert list(rows) == ["jones2019", "lee2021", "smith2020"]
    assert rows["smith2020"]["n"] == 40 and rows["smith2020"]["results"] == 4
    assert rows["jones2019"]["n"] is None  # not reported stays null
    assert rows["smith2020"]["follow_up"] == "6 weeks"
    assert rows["smith2020"]["risk_of_bias"] == "some-concerns"


def test_studies_on_broken_evidence_exit_2_with_the_errors(tmp_path, capsys):
    root = make_evidence(tmp_path, edits=[(SMITH, "sd: 1.2", "sd: 0")])
    code, out, err = run(capsys, "studies", "--evidence", str(root))
    assert code == 2 and out == ""
    assert "evidencekit validate" in err and "results[1].arms[0].sd" in err


@pytest.mark.parametrize("argv", [["validate", "--format", "xml"], ["studies", "--bogus"]])
def test_bad_usage_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
