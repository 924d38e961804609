"""Benchmark: leave_one_out's time and peak memory, up to k = 50,000 studies.

Run: ``.venv/bin/python benchmarks/bench_leave_one_out.py``. Each configuration runs in a fresh
Python process so that its peak resident set size (``resource.getrusage(...).ru_maxrss``) is its
own; the baseline is the peak RSS of a process that only imports evidencekit and makes the data.
The old implementation built (k, k-1) arrays of yi and vi: 2 x 8 k² bytes (40 GB at k = 50,000,
hence the MemoryError the issue reports); its figure below is that arithmetic, not a run.
This is a benchmark, not a test: nothing here asserts a time.
"""
from __future__ import annotations

import json
import subprocess
import sys

CHILD = r"""
import json, resource, sys, time
import numpy as np
from evidencekit.stats.leave_one_out import leave_one_out
k, method = int(sys.argv[1]), sys.argv[2]
rng = np.random.default_rng(20240601)
vi = rng.uniform(0.01, 0.5, k)
yi = rng.normal(0.3, np.sqrt(vi + 0.05))
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
frame = leave_one_out(yi, vi, method=method) if method != "none" else None
elapsed = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"k": k, "method": method, "seconds": elapsed, "peak_mb": peak / 1024,
                  "baseline_mb": base / 1024,
                  "rows": 0 if frame is None else len(frame)}))
"""

CONFIGS = [(50_000, "FE"), (50_000, "DL"), (50_000, "HE"), (5_000, "DL"), (2_000, "REML"),
           (5_000, "REML")]


def run(k: int, method: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(k), method], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout)


def main() -> None:
    print("leave_one_out: time and peak RSS per configuration (fresh process each)")
    print(f"{'k':>7} {'method':>6} {'seconds':>9} {'peak MB':>9} {'of which data+import':>21} "
          f"{'old (k,k-1) arrays':>19}")
    for k, method in CONFIGS:
        r = run(k, method)
        old_gb = 2 * 8 * k * (k - 1) / 1e9
        assert r["rows"] == k
        print(f"{k:>7,} {method:>6} {r['seconds']:>9.2f} {r['peak_mb']:>9.0f} "
              f"{r['baseline_mb']:>21.0f} {old_gb:>16.1f} GB")


if __name__ == "__main__":
    main()
