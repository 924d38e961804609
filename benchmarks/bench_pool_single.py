"""Benchmark: one meta-analysis with pool() against statsmodels' combine_effects, side by side.

Run: ``.venv/bin/python benchmarks/bench_pool_single.py``. Same data for every contender (k = 20,
vi ~ U(0.01, 0.5), tau² = 0.1, seed 20240601); each timing is the best of 7 repeats of 2,000
calls, contenders interleaved within each repeat so that machine load hits them alike. Pairs
compare like with like: DerSimonian-Laird (statsmodels ``method_re="chi2"``) and Paule-Mandel
(``"iterated"``), and pool()'s defaults (REML with its Q-profile interval for tau², which
statsmodels does not compute). Also checks that the estimates agree. Not a test: nothing here
asserts a time.
"""
from __future__ import annotations

import os
import platform
import time
import warnings

import numpy as np

from evidencekit.stats.pooling import pool

REPEATS, CALLS, K, SEED = 7, 2_000, 20, 20240601


def main() -> None:
    from statsmodels.stats.meta_analysis import combine_effects

    rng = np.random.default_rng(SEED)
    vi = rng.uniform(0.01, 0.5, K)
    yi = rng.normal(0.3, np.sqrt(vi + 0.1))
    contenders = {
        "statsmodels combine_effects DL (chi2)": lambda: combine_effects(yi, vi,
                                                                         method_re="chi2"),
        "pool(method='DL', tau2_ci=False)": lambda: pool(yi, vi, method="DL", tau2_ci=False),
        "pool(method='DL')": lambda: pool(yi, vi, method="DL"),
        "statsmodels combine_effects PM (iterated)": lambda: combine_effects(
            yi, vi, method_re="iterated"),
        "pool(method='PM', tau2_ci=False)": lambda: pool(yi, vi, method="PM", tau2_ci=False),
        "pool() defaults: REML + Q-profile tau² CI": lambda: pool(yi, vi),
        "pool(method='REML', tau2_ci=False)": lambda: pool(yi, vi, tau2_ci=False),
    }
    best = {name: float("inf") for name in contenders}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for f in contenders.values():
            f()  # warm up (imports, caches)
        for _ in range(REPEATS):
            for name, f in contenders.items():
                t0 = time.perf_counter()
                for _ in range(CALLS):
                    f()
                best[name] = min(best[name], (time.perf_counter() - t0) / CALLS)
        sm_dl = combine_effects(yi, vi, method_re="chi2")
        sm_pm = combine_effects(yi, vi, method_re="iterated")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"one meta-analysis, k = {K}: best of {REPEATS} x {CALLS:,} calls; python "
          f"{platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} CPU(s), "
          f"load {load:.2f}")
    for name, t in best.items():
        print(f"  {name:<44} {t * 1e6:8.1f} us")
    sm_dl_t = best["statsmodels combine_effects DL (chi2)"]
    sm_pm_t = best["statsmodels combine_effects PM (iterated)"]
    print(f"pool DL (no tau² CI) / statsmodels DL : "
          f"{best['pool(method=' + chr(39) + 'DL' + chr(39) + ', tau2_ci=False)'] / sm_dl_t:5.2f}x"
          "  (goal <= 2x)")
    print(f"pool PM (no tau² CI) / statsmodels PM : "
          f"{best['pool(method=' + chr(39) + 'PM' + chr(39) + ', tau2_ci=False)'] / sm_pm_t:5.2f}x")
    print(f"pool() defaults / statsmodels DL      : "
          f"{best['pool() defaults: REML + Q-profile tau² CI'] / sm_dl_t:5.2f}x")
    dl, pm = pool(yi, vi, method="DL"), pool(yi, vi, method="PM")
    print(f"agreement: DL estimate {abs(dl.estimate - sm_dl.mean_effect_re):.1e}, tau² "
          f"{abs(dl.tau2 - sm_dl.tau2):.1e}; PM estimate "
          f"{abs(pm.estimate - sm_pm.mean_effect_re):.1e} (statsmodels' PM stops at its own "
          "tolerance)")


if __name__ == "__main__":
    main()
