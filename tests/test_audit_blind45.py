"""Blind evaluation pages 4 (Markdown) and 5 (HTML): written and labelled by someone who had not seen
the audit's rules, code or other pages, and measured once, after the rules were frozen (commit "audit
rules frozen for blind pages 4 and 5"). The FIRST_* figures are that one measurement; they are the
figures to quote for these rules (docs/audit.md). Later rule changes are checked against floors a
MARGIN below them, so these pages now guard against regressions; the labels are never edited.

Scoring: tests/_audit_support.score_page, a finding belongs to the label span it overlaps most; a
label span runs from its prefix to the next label's prefix. Neutral-flag rate = labelled non-claims
that got a finding, over all labelled non-claims.
"""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _audit_support import VERDICTS, score_page  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "tests" / "data" / "samples"
PAGES = {
    "page-4": (SAMPLES / "heldout-clinic-page-4.md", SAMPLES / "heldout-clinic-page-4.labels.json",
               "7fe3087c455c99b69b3483b8e347883228ed3997b5ea9ea8278218b180fe179b",
               "601a2902489dbfe003cc12908ac19e7dd8adf5dc0081b50ef2b50a69643e2411"),
    "page-5": (SAMPLES / "heldout-clinic-page-5.html", SAMPLES / "heldout-clinic-page-5.labels.json",
               "414904ea8e30c4e119916079701e36cbb19a89b468e7b0ce4c008402e2725734",
               "d77eae677f9e274e53e5255e078256f5cfac94fdd9abdc3561c5ede299014904"),
}
MARGIN = 0.05
# The one blind measurement, 2026-12-01, at commit "audit rules frozen for blind pages 4 and 5"
# (python tests/test_audit_blind45.py). Not targets: the goal was recall >= 0.90 with <= 5% of
# neutral sentences flagged; recall fell short on both pages.
FIRST = {
    "page-4": {"precision": 29 / 31,            # 0.935
               "recall": 29 / 37,               # 0.784
               "neutral_flag_rate": 2 / 57,     # 0.035
               "verdict_agreement": 18 / 29},   # 0.621
    "page-5": {"precision": 25 / 26,            # 0.962
               "recall": 25 / 32,               # 0.781
               "neutral_flag_rate": 1 / 56,     # 0.018
               "verdict_agreement": 14 / 25},   # 0.560
}


@lru_cache(maxsize=None)
def _run(name: str):
    page, labels_file, _, _ = PAGES[name]
    exe = Path(sys.executable).with_name("evidencekit")
    proc = subprocess.run([str(exe), "audit", str(page), "--format", "json", "--evidence",
                           str(ROOT / "evidence")], cwd=ROOT, capture_output=True, text=True,
                          encoding="utf-8", timeout=300)
    assert proc.returncode == 0, proc.stderr
    findings = json.loads(proc.stdout)["findings"]
    from evidencekit.audit import read_page, html_to_text

    source, fmt = read_page(page)
    text = html_to_text(source) if fmt == "html" else source
    labels = [(row["prefix"], row["verdict"], row["why"])
              for row in json.loads(labels_file.read_text(encoding="utf-8"))]
    return text, labels, findings


def figures(name: str) -> dict:
    text, labels, findings = _run(name)
    sc = score_page(text, labels, findings)
    neutral = sum(1 for e in sc.expected if e is None)
    flagged_neutral = sum(1 for e, p in zip(sc.expected, sc.predicted) if e is None and p is not None)
    return {"precision": sc.precision, "recall": sc.recall,
            "neutral_flag_rate": (flagged_neutral + len(sc.stray)) / neutral if neutral else 0.0,
            "verdict_agreement": sc.verdict_agreement,
            "counts": {"tp": sc.tp, "flagged": sc.flagged, "claims": sc.claims, "agree": sc.agree,
                       "neutral": neutral, "neutral_flagged": flagged_neutral,
                       "stray": len(sc.stray)},
            "misses": [(labels[i][0], e, p) for i, e, p in sc.misses]}


@pytest.mark.parametrize("name", sorted(PAGES))
def test_page_and_labels_are_the_blind_copies(name):
    page, labels, page_sha, labels_sha = PAGES[name]
    assert hashlib.sha256(page.read_bytes()).hexdigest() == page_sha
    assert hashlib.sha256(labels.read_bytes()).hexdigest() == labels_sha


@pytest.mark.parametrize("name", sorted(PAGES))
def test_offsets_are_exact_and_labels_valid(name):
    text, labels, findings = _run(name)
    for f in findings:
        assert text[f["start"]:f["end"]] == f["text"]
    assert all(v is None or v in VERDICTS for _, v, _ in labels)


@pytest.mark.parametrize("name", sorted(PAGES))
def test_blind_page_does_not_regress(name):
    got = figures(name)
    print(f"\n{name}: " + ", ".join(f"{k} {got[k]:.3f}" for k in FIRST[name]), got["counts"])
    for key, first in FIRST[name].items():
        if key == "neutral_flag_rate":
            assert got[key] <= first + MARGIN, (key, got[key], first)
        else:
            assert got[key] >= first - MARGIN, (key, got[key], first)


if __name__ == "__main__":  # python tests/test_audit_blind45.py -> the figures in docs/audit.md
    for name in sorted(PAGES):
        print(name, json.dumps(figures(name), indent=1, ensure_ascii=False))
