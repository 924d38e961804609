"""The broken-input corpus (tests/bad_inputs/): every broken evidence folder ends in a clear error.

Each case folder holds ``case.yaml`` (what is broken and what validate must say) and an
``evidence/`` overlay: the files that replace the valid fixture's (``_base/``), plus an optional
``delete:`` list. For every case, ``evidencekit validate`` (text and JSON) must:

- exit with the code DESIGN.md gives (1 for findings, 2 when the folder itself is unusable);
- report the expected error, naming the file, the line where known, the field path, and a fix;
- never print a traceback, never run code from the input, never modify the input.

Files too large to commit (over the size limit, deeply nested YAML) are made at test time.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from evidencekit import io as evidencekit_io
from evidencekit.cli import main
from evidencekit.evidence.reading import MAX_FILE_BYTES

BAD = Path(__file__).parent / "bad_inputs"
BASE = BAD / "_base"
CASES = sorted(p for p in BAD.iterdir() if p.is_dir() and not p.name.startswith("_"))
GENERATED = ["huge-study-file", "huge-bib-file", "deeply-nested-yaml", "folder-missing",
             "folder-is-a-file", "unreadable-file"]


def build(case: Path, tmp_path: Path) -> tuple[Path, dict]:
    meta = yaml.safe_load((case / "case.yaml").read_text(encoding="utf-8"))
    root = tmp_path / "evidence"
    shutil.copytree(BASE, root)
    for rel in meta.get("delete", []):
        target = root / rel
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    overlay = case / "evidence"
    if overlay.is_dir():
        for src in sorted(overlay.rglob("*")):
            if src.is_file():
                dst = root / src.relative_to(overlay)
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dst)
    return root, meta["expect"]


def snapshot(root: Path) -> dict[str, str]:
    """Every path under ``root`` with a hash of its bytes (folders too, so none appear or vanish)."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        out[rel] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "<dir>"
    return out


@pytest.fixture
def no_code_runs(monkeypatch, tmp_path):
    """Record any attempt to start a process; work in tmp_path so a payload's file would show."""
    calls: list = []

    def record(*args, **kwargs):
        calls.append(args)
        raise AssertionError(f"input tried to run code: {args}")

    monkeypatch.setattr(os, "system", record)
    monkeypatch.setattr(os, "popen", record)
    monkeypatch.setattr(subprocess, "Popen", record)
    monkeypatch.chdir(tmp_path)
    yield calls
    assert calls == []
    assert not list(tmp_path.rglob("PWNED*")), "a YAML payload created a file"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def expected_prefix(file: str, line: int | None, field: str | None) -> str:
    where = file + (f":{line}" if line is not None else "")
    return where + (f" [{field}]" if field else "") + ": error: "


# ---------------------------------------------------------------------------------------------


def test_corpus_is_large_enough_and_well_formed():
    assert len(CASES) + len(GENERATED) >= 40
    for case in CASES:
        meta = yaml.safe_load((case / "case.yaml").read_text(encoding="utf-8"))
        assert meta["description"], case.name
        expect = meta["expect"]
        assert expect["exit"] in (1, 2) and expect["says"], case.name
        assert (case / "evidence").is_dir() or meta.get("delete"), f"{case.name} changes nothing"


def test_base_fixture_is_valid(capsys):
    # Each case breaks one thing in _base; if _base itself had an error, cases would prove nothing.
    code, out, _ = run(capsys, "validate", str(BASE), "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["errors"] == [] and data["warnings"] == []


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case, tmp_path, capsys, no_code_runs):
    root, expect = build(case, tmp_path)
    before = snapshot(root)
    file = f"{root.as_posix()}/{expect['file']}"

    code, out, _ = run(capsys, "validate", str(root), "--format", "json")
    assert code == expect["exit"]
    data = json.loads(out)
    assert data["ok"] is False
    errors = data["errors"]
    assert len(errors) == expect["errors"], json.dumps(errors, indent=1)
    hits = [e for e in errors if (e["file"], e["line"], e["field"]) ==
            (file, expect["line"], expect["field"])]
    assert hits, f"expected {file}:{expect['line']} [{expect['field']}] in\n" + json.dumps(
        errors, indent=1)
    for fragment in expect["says"]:
        assert fragment in hits[0]["message"], hits[0]["message"]

    # The text report prints the same error as `file:line [field]: error: message`.
    code_text, out_text, _ = run(capsys, "validate", str(root))
    assert code_text == code
    assert expected_prefix(file, expect["line"], expect["field"]) + hits[0]["message"] in out_text

    assert snapshot(root) == before, "validate modified its input"


# ---------------------------------------------------------------------------------------------
# made at test time


def _validate_json(capsys, root: Path) -> tuple[int, dict]:
    code, out, _ = run(capsys, "validate", str(root), "--format", "json")
    return code, json.loads(out)


def test_huge_study_file(tmp_path, capsys, no_code_runs):
    root, _ = build(BAD / "empty-file", tmp_path)  # any case: the file below replaces jones2019
    big = root / "studies" / "jones2019.yaml"
    with big.open("w", encoding="utf-8") as fh:
        fh.write("id: jones2019\nnotes: " + "x" * (MAX_FILE_BYTES + 10) + "\n")
    before = snapshot(root)
    code, data = _validate_json(capsys, root)
    assert code == 1
    (err,) = data["errors"]
    assert err["file"] == big.as_posix() and "MB" in err["message"] and "limit" in err["message"]
    assert snapshot(root) == before


def test_huge_bib_file(tmp_path, capsys, no_code_runs):
    root = tmp_path / "evidence"
    shutil.copytree(BASE, root)
    bib = root / "references.bib"
    with bib.open("a", encoding="utf-8") as fh:
        fh.write(("% " + "padding " * 100 + "\n") * (MAX_FILE_BYTES // 800 + 10))
    code, data = _validate_json(capsys, root)
    assert code == 1
    (err,) = data["errors"]  # the studies' missing-entry errors are not piled on top
    assert err["file"] == bib.as_posix() and "MB" in err["message"]


def test_deeply_nested_yaml(tmp_path, capsys, no_code_runs):
    root = tmp_path / "evidence"
    shutil.copytree(BASE, root)
    deep = root / "studies" / "lee2021.yaml"
    deep.write_text("id: lee2021\nnotes: " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    code, data = _validate_json(capsys, root)
    assert code == 1
    (err,) = data["errors"]
    assert err["file"] == deep.as_posix()
    assert "nested too deeply" in err["message"] or "YAML" in err["message"]


def test_folder_missing_exit_2(tmp_path, capsys, no_code_runs):
    code, out, err = run(capsys, "validate", str(tmp_path / "missing"), "--format", "json")
    assert code == 2
    assert json.loads(out)["errors"][0]["file"] == (tmp_path / "missing").as_posix()
    code, out, err = run(capsys, "validate", str(tmp_path / "missing"))
    assert code == 2 and "evidence folder not found" in err


def test_folder_is_a_file_exit_2(tmp_path, capsys, no_code_runs):
    path = tmp_path / "evidence.zip"
    path.write_bytes(b"PK\x03\x04")
    code, _, err = run(capsys, "validate", str(path))
    assert code == 2 and "is not a folder" in err
    assert path.read_bytes() == b"PK\x03\x04"


def test_unreadable_file(tmp_path, capsys, no_code_runs, monkeypatch):
    # chmod 000 does not stop root (CI containers often run as root), so the refusal the OS
    # would give is simulated at the one place evidence files are read.
    root = tmp_path / "evidence"
    shutil.copytree(BASE, root)
    locked = root / "studies" / "lee2021.yaml"
    real_open = evidencekit_io._open_fd

    def refuse(path: str) -> int:
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", path)
        return real_open(path)

    monkeypatch.setattr(evidencekit_io, "_open_fd", refuse)
    code, data = _validate_json(capsys, root)
    assert code == 1
    (err,) = data["errors"]  # links and questions citing lee2021 are not reported again
    assert err["file"] == locked.as_posix()
    assert "cannot be read (Permission denied)" in err["message"]


def test_bib_of_a_million_broken_blocks_is_one_error(tmp_path, capsys, no_code_runs):
    # 3.6 MB of "@a{" used to give 1.2 million errors and a MemoryError with --format json.
    root = tmp_path / "evidence"
    shutil.copytree(BASE, root)
    bib = root / "references.bib"
    bib.write_text("@a{" * 1_200_000, encoding="utf-8")
    code, data = _validate_json(capsys, root)
    assert code == 1
    (err,) = data["errors"]  # and the studies are not each reported as missing from it
    assert err["file"] == bib.as_posix() and "1,200,000 blocks" in err["message"]


def test_bib_messages_are_capped_with_a_summary(tmp_path, capsys, no_code_runs):
    root = tmp_path / "evidence"
    shutil.copytree(BASE, root)
    bib = root / "references.bib"
    with bib.open("a", encoding="utf-8") as fh:
        for i in range(400):
            fh.write(f"\n@article{{extra{i}, title = {{T}}, journal = undefined{i}, year = 2020}}\n")
    code, data = _validate_json(capsys, root)
    assert code == 1
    undefined = [e for e in data["errors"] if "is not defined" in e["message"]]
    summary = [e for e in data["errors"] if "more problem(s) in this file" in e["message"]]
    assert len(undefined) == 100 and len(summary) == 1 and "300 more" in summary[0]["message"]
