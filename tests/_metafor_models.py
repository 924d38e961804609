"""Shared access to tests/data/metafor-models.json (made by tests/data/metafor-models.R)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from evidencekit.stats.effects import effect_sizes

MODELS = json.loads((Path(__file__).parent / "data" / "metafor-models.json").read_text())

# The models are closed-form or iterate with metafor's own algorithm and stopping rule, so
# agreement is limited by floating-point rounding and the conditioning of X'WX (years as a
# moderator: ~1e-10), far inside the 1e-5 the project promises.
MODEL_RTOL = 1e-8


def section(name):
    return {c["name"]: c for c in MODELS[name]}


def arr(values):
    """JSON list -> float array (metafor's NA is null -> NaN)."""
    return np.array(values, dtype=float)


def case_effects(case):
    """yi, vi of a subgroup / meta-regression case, as its R script computed them."""
    inp = case["inputs"]
    if case["measure"] == "RR":
        es = effect_sizes("RR", ai=inp["ai"], bi=inp["bi"], ci=inp["ci"], di=inp["di"])
        return np.array(es.yi), np.array(es.vi)
    return arr(inp["yi"]), arr(inp["vi"])


def close(actual, expected, rtol=MODEL_RTOL):
    np.testing.assert_allclose(np.asarray(actual, float), arr(expected), rtol=rtol, atol=1e-13)
