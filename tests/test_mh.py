"""Mantel-Haenszel and Peto against metafor's rma.mh / rma.peto (tests/data/metafor-models.json)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from _metafor_models import MODELS, close, section
from evidencekit.errors import InputError
from evidencekit.stats.mh import mantel_haenszel, peto

MH = section("mh")
PETO = section("peto")
KEYS = ("estimate", "se", "ci_low", "ci_high", "z", "p", "q", "q_p", "i2", "h2")


def tables(case):
    return {k: v for k, v in case["inputs"].items() if k in ("ai", "bi", "ci", "di", "n1i", "n2i")}


@pytest.mark.parametrize("name", sorted(MH))
def test_mantel_haenszel_matches_rma_mh(name):
    case = MH[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mantel_haenszel(case["measure"], **tables(case))
    for key in KEYS:
        close(getattr(res, key), case[key])
    assert res.k == case["k"] and res.k_yi == case["k_yi"]
    close(res.weight, case["weights"])


@pytest.mark.parametrize("name", sorted(PETO))
def test_peto_matches_rma_peto(name):
    case = PETO[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = peto(**tables(case))
    for key in KEYS:
        close(getattr(res, key), case[key])
    assert res.k == case["k"] and res.k_yi == case["k_yi"]
    close(res.weight, case["weights"])


def test_grid_is_complete():
    assert MODELS["source"].startswith("R metafor ")
    assert {c["measure"] for c in MH.values()} == {"OR", "RR", "RD"}
    # the zero-cell data (single and double zeros) stay in the grid for every MH measure
    assert {n for n in MH if n.startswith("yusuf1985")} == {
        "yusuf1985_t9_MH_OR", "yusuf1985_t9_MH_RR", "yusuf1985_t9_MH_RD"}
    assert len(PETO) >= 3


def test_results_are_frozen_and_summarised():
    res = mantel_haenszel("OR", ai=[4, 6], bi=[96, 94], ci=[8, 9], di=[92, 91])
    with pytest.raises(AttributeError):
        res.estimate = 0.0
    assert "Mantel-Haenszel (OR)" in res.summary() and "back-transformed" in res.summary()
    assert list(res.to_frame().columns)[:3] == ["k", "measure", "method"]
    assert res.to_dict()["tau2"] == 0.0


def test_not_estimable_and_bad_tables_are_clear():
    res = mantel_haenszel("OR", ai=[0, 0], bi=[10, 12], ci=[0, 0], di=[11, 9])
    assert np.isnan(res.estimate) and res.notes
    with pytest.raises(InputError, match="not estimable"):
        peto(ai=[0, 0], bi=[10, 12], ci=[0, 0], di=[11, 9])
    with pytest.raises(InputError, match="larger than n1i"):
        mantel_haenszel("RR", ai=[12], n1i=[10], ci=[1], n2i=[10])
    with pytest.raises(InputError, match="OR, RR or RD"):
        mantel_haenszel("MD", ai=[1], bi=[2], ci=[1], di=[2])
