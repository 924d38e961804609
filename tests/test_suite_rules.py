"""The test suite's own rules: what should fail does not skip, and the quick loop is marked.

- the bundled evidence fixture fails, naming the broken file, when the evidence does not load;
- no test hides an import error of the package behind ``pytest.importorskip``;
- the ``slow`` marker is registered (``--strict-markers`` makes a misspelt one an error).
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from conftest import BUNDLED_EVIDENCE, load_evidence_or_fail

TESTS = Path(__file__).resolve().parent


def test_bundled_evidence_that_does_not_load_fails_with_its_errors(tmp_path):
    evidence = tmp_path / "evidence"
    shutil.copytree(BUNDLED_EVIDENCE, evidence)
    study = sorted((evidence / "studies").glob("*.yaml"))[0]
    study.write_text(study.read_text(encoding="utf-8") + "\nnot_a_field: 1\n", encoding="utf-8")
    with pytest.raises(pytest.fail.Exception) as caught:
        load_evidence_or_fail(evidence)
    message = str(caught.value)
    assert study.name in message and "not_a_field" in message
    assert "evidencekit validate evidence" in message


def test_bundled_evidence_loads(bundled_library):
    assert bundled_library.studies and bundled_library.questions


def test_no_test_skips_when_the_package_fails_to_import():
    pattern = re.compile(r"importorskip\(\s*['\"]evidencekit")
    offenders = [p.name for p in TESTS.glob("*.py") if pattern.search(p.read_text("utf-8"))]
    assert not offenders, f"import evidencekit plainly, so an import error fails: {offenders}"


def test_slow_marker_is_registered(pytestconfig):
    markers = pytestconfig.getini("markers")
    assert any(m.startswith("slow:") for m in markers)
    assert "--strict-markers" in pytestconfig.getini("addopts")
