"""The one gate (evidencekit.validation) over the evidence layer, and what the evidence layer holds.

The evidence layer reads and checks the records without importing the statistics, the grading or
the audit; the checks that need them run in :mod:`evidencekit.validation`, and both public entry
points (``validate_evidence``, ``load_library``) still run them.
"""
from __future__ import annotations

import subprocess
import sys

import pytest

import evidencekit
from evidencekit.errors import InputError
from evidencekit.evidence.comparators import kind_from_text
from evidencekit.evidence.checks import check_cross_references
from evidencekit.evidence.report import make_report
from evidencekit.evidence.scan import scan_folder
from evidencekit.validation import load_library, validate_evidence
from test_library import make_evidence

LEE = "studies/lee2021.yaml"


def test_public_names_are_the_gate():
    assert evidencekit.load_library is load_library
    assert evidencekit.validate_evidence is validate_evidence


def test_the_evidence_layer_imports_nothing_above_it():
    code = ("import sys\n"
            "import evidencekit.evidence.library, evidencekit.evidence.scan, "
            "evidencekit.evidence.checks, evidencekit.evidence.report, "
            "evidencekit.evidence.importer, evidencekit.evidence.bibliography\n"
            "up = sorted(m for m in sys.modules if m.split('.')[:2] in "
            "(['evidencekit', 'stats'], ['evidencekit', 'grade'], ['evidencekit', 'audit'], "
            "['evidencekit', 'validation']))\n"
            "print(','.join(up))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


def _contradicted(tmp_path):
    # An effect estimate whose typed direction says benefit while its data say harm: only the
    # statistics layer can see it.
    return make_evidence(tmp_path, edits=[(LEE, "    direction: benefit\n    measure: SMD",
                                           "    direction: harm\n    measure: SMD")])


def test_checks_needing_the_statistics_run_in_both_entry_points(tmp_path):
    root = _contradicted(tmp_path)
    report = validate_evidence(root)
    assert [m.field for m in report.errors if "contradicts the data" in m.message]
    with pytest.raises(InputError) as exc:
        load_library(root)
    assert any("contradicts the data" in str(m) for m in exc.value.details)


def test_the_evidence_layer_alone_does_not_judge_directions(tmp_path):
    scan = scan_folder(_contradicted(tmp_path))
    check_cross_references(scan)
    assert not [m for m in make_report(scan).errors if "contradicts the data" in m.message]


@pytest.mark.parametrize("text, kind", [
    ("sham needling", "sham-or-placebo"), ("Placebo tablets", "sham-or-placebo"),
    ("waiting list", "no-treatment-or-waiting-list"), ("usual care", "usual-care"),
    ("exercise plus needling", "add-on"), ("exercise", "active"), ("  ", None), (None, None),
])
def test_comparator_kind_from_a_reviewers_words(text, kind):
    assert kind_from_text(text) == kind
