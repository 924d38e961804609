"""How audit time grows with page size: 1 MB, 4 MB and 10 MB pages in one run.

Run: ``.venv/bin/python benchmarks/bench_audit.py``. Linear time means the per-MB figure stays
flat as the page grows; the script prints the ratio of the 10 MB to the 1 MB per-MB time, which
should stay near 1 (a quadratic step would make it near 10).
"""
from __future__ import annotations

import time
from pathlib import Path

from evidencekit.audit import audit_text
from evidencekit.claims import make_claims
from evidencekit.library import load_library

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    claims = make_claims(load_library(ROOT / "evidence"))
    sample = (ROOT / "tests" / "data" / "samples" / "patient-page-dry-needling.txt").read_text()
    per_mb = {}
    for megabytes in (1, 4, 10):
        text = (sample + "\n\n") * (megabytes * 1_000_000 // (len(sample) + 2) + 1)
        start = time.perf_counter()
        report = audit_text(text, claims)
        elapsed = time.perf_counter() - start
        per_mb[megabytes] = elapsed / (len(text) / 1e6)
        print(f"{megabytes:>3} MB: {elapsed:6.2f} s, {per_mb[megabytes]:.2f} s/MB, "
              f"{len(report.findings)} findings")
    print(f"per-MB time, 10 MB vs 1 MB: {per_mb[10] / per_mb[1]:.2f}x (1.0 = linear)")


if __name__ == "__main__":
    main()
