"""The audit is linear in the length of the page: time each hostile and ordinary input at n and 10n.

    python benchmarks/bench_audit.py

For each case the ratio t(10n) / t(n) is printed from one run on one machine (a linear reader gives
about 10; the quadratic html.parser and Markdown scans of issue 17 gave about 100, the cubic
sessions pattern about 1,000). Each case is timed as the best of three runs.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from _audit_support import bundled_topics, stand_in_claims  # noqa: E402

from evidencekit.audit import audit_text  # noqa: E402

SAMPLE = (ROOT / "tests" / "data" / "samples" / "patient-page-dry-needling.txt").read_text("utf-8")

CASES = {
    # name: (page of size n, format)
    "sample page repeated": (lambda n: SAMPLE * n, "text", 2),
    "digit then spaces (sessions pattern)": (lambda n: ("Dry needling 1" + " " * 1900 + "x. ") * n,
                                             "text", 20),
    "'<a b ' repeated (HTML)": (lambda n: "<a b " * n, "html", 5_000),
    "'<!--' repeated (HTML)": (lambda n: "<!--" * n, "html", 5_000),
    "'[' on one line (Markdown)": (lambda n: "[" * n, "markdown", 8_000),
    "'<' on one line (Markdown)": (lambda n: "<" * n, "markdown", 8_000),
}


def best_of(page: str, fmt: str, claims, topics, runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        t0 = time.perf_counter()
        audit_text(page, claims, topics=topics, source_format=fmt)
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    claims, topics = stand_in_claims(), bundled_topics()
    print(f"{'case':<40} {'n':>8} {'t(n) s':>9} {'t(10n) s':>9} {'ratio':>6}")
    for name, (make, fmt, n) in CASES.items():
        t1 = best_of(make(n), fmt, claims, topics)
        t10 = best_of(make(10 * n), fmt, claims, topics)
        print(f"{name:<40} {n:>8} {t1:>9.3f} {t10:>9.3f} {t10 / t1:>6.1f}")


if __name__ == "__main__":
    main()
