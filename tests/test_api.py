"""The public Python API (DESIGN.md, "Python API, re-exported from `evidencekit`").

Names exist at the top level, signatures carry the documented defaults, results are frozen and
have ``summary()`` and ``to_frame()``, and a pooled result's attributes carry the JSON keys of
`evidencekit pool --format json`, as ``pool_many``'s columns do.
"""
from __future__ import annotations

import dataclasses
import inspect

import numpy as np
import pandas as pd
import pytest

import evidencekit as ek
from evidencekit.stats.pooling import SCALAR_KEYS

PUBLIC = ("load_library", "effect_sizes", "pool", "pool_many", "rate_certainty", "make_claims",
          "audit_text")
# DESIGN.md's `pool` JSON keys, in contract order
POOL_KEYS = ("k", "measure", "method", "estimate", "se", "ci_low", "ci_high", "z", "p", "tau2",
             "i2", "h2", "q", "q_p", "pi_low", "pi_high")

YI = [-0.6, -0.2, -0.9, 0.1, -0.4]
VI = [0.04, 0.09, 0.06, 0.05, 0.08]


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    from evidence_fixture import make_evidence

    return ek.load_library(make_evidence(tmp_path_factory.mktemp("api") / "evidence"))


def assert_frozen_with_summary_and_frame(obj):
    assert dataclasses.is_dataclass(obj), type(obj)
    first = dataclasses.fields(obj)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(obj, first, getattr(obj, first))
    assert isinstance(obj.summary(), str) and obj.summary()
    assert isinstance(obj.to_frame(), pd.DataFrame)


def test_every_public_name_is_exported_and_listed():
    for name in PUBLIC:
        assert callable(getattr(ek, name)), name
        assert name in ek.__all__ and name in dir(ek)
    with pytest.raises(AttributeError):
        ek.not_a_function  # noqa: B018


def test_version_is_set():
    assert isinstance(ek.__version__, str) and ek.__version__.count(".") == 2


@pytest.mark.parametrize("name, params", [
    ("load_library", {"path": "evidence"}),
    ("pool", {"yi": inspect.Parameter.empty, "vi": None, "method": "REML", "ci": "wald"}),
    ("pool_many", {"yi": inspect.Parameter.empty, "vi": inspect.Parameter.empty,
                   "method": "REML", "ci": "wald"}),
    ("effect_sizes", {"measure": inspect.Parameter.empty}),
    ("rate_certainty", {"question": inspect.Parameter.empty, "library": inspect.Parameter.empty}),
    ("make_claims", {"library": inspect.Parameter.empty, "ratings": None}),
    ("audit_text", {"text": inspect.Parameter.empty, "claims": inspect.Parameter.empty}),
])
def test_signatures_follow_the_design(name, params):
    sig = inspect.signature(getattr(ek, name))
    assert list(sig.parameters)[:len(params)] == list(params), name
    for param, default in params.items():
        assert sig.parameters[param].default == default, (name, param)


def test_pool_result_attributes_carry_the_json_keys():
    res = ek.pool(YI, VI, method="REML", ci="wald")
    data = res.to_dict()
    assert list(data)[:len(POOL_KEYS)] == list(POOL_KEYS) == list(SCALAR_KEYS)
    for key in POOL_KEYS:
        value = getattr(res, key)
        if isinstance(value, str):
            assert value == data[key], key
        else:
            assert float(value) == pytest.approx(data[key], nan_ok=True), key
    assert [tuple(s) for s in res.studies] == [(s["yi"], s["vi"], s["weight"])
                                               for s in data["studies"]]
    assert [s._fields for s in res.studies][0] == ("yi", "vi", "weight")
    assert sum(s.weight for s in res.studies) == pytest.approx(100)
    assert res.method == "REML" and res.ci_method == "wald" and res.k == len(YI)


def test_pool_result_is_frozen_with_summary_and_one_row_frame():
    res = ek.pool(YI, VI)
    assert_frozen_with_summary_and_frame(res)
    assert len(res.to_frame()) == 1
    assert not res.yi.flags.writeable and not res.weight.flags.writeable
    assert "REML" in res.summary() and "Wald" in res.summary()


def test_pool_many_has_one_row_per_analysis_with_the_same_columns_as_pool():
    Y = np.array([YI, YI[::-1], [y + 0.3 for y in YI]])
    V = np.array([VI, VI, VI])
    many = ek.pool_many(Y, V, method="REML", tau2_ci=True)
    assert isinstance(many, pd.DataFrame) and len(many) == 3
    single = ek.pool(Y[0], V[0], method="REML").to_frame()
    assert list(many.columns) == list(single.columns)
    assert list(many.columns)[:len(POOL_KEYS)] == list(POOL_KEYS)
    for key in ("estimate", "se", "tau2", "i2", "pi_low"):
        assert many[key].iloc[0] == pytest.approx(single[key].iloc[0], rel=1e-8)
    # without the tau² interval (the default, for speed) the columns are the same minus those two
    assert list(ek.pool_many(Y, V).columns) == [c for c in single.columns
                                                if not c.startswith("tau2_ci")]


def test_effect_sizes_feed_pool():
    es = ek.effect_sizes("MD", m1i=[1.0, 2.0], sd1i=[1.0, 1.2], n1i=[20, 30],
                         m2i=[2.0, 2.5], sd2i=[1.1, 1.0], n2i=[20, 30])
    assert_frozen_with_summary_and_frame(es)
    res = ek.pool(es)
    assert res.measure == "MD" and res.k == 2


def test_library_certainty_claims_and_audit(library):
    assert library.studies and library.questions
    assert isinstance(library.studies_frame(), pd.DataFrame)
    question = next(iter(library.questions.values()))
    rating = ek.rate_certainty(question, library)
    assert_frozen_with_summary_and_frame(rating)
    assert rating.level in ("very low", "low", "moderate", "high")
    claims = ek.make_claims(library)
    assert_frozen_with_summary_and_frame(claims)
    assert set(claims.to_dict()) == {"claims"}
    report = ek.audit_text("Dry needling cures neck pain for everyone.", claims)
    assert_frozen_with_summary_and_frame(report)
    assert set(report.to_dict()) == {"findings", "summary"}


def test_bad_input_raises_input_error_which_is_a_value_error():
    from evidencekit.errors import InputError

    with pytest.raises(InputError, match="unknown method"):
        ek.pool(YI, VI, method="nope")
    with pytest.raises(ValueError):
        ek.pool(YI, VI[:-1])


def test_sensitivity_and_decisions_results_follow_the_conventions():
    from evidencekit.grade.decisions import parse_decisions
    from evidencekit.grade.disclosure import apply_exclusions, apply_overrides
    from evidencekit.stats.sensitivity import sensitivity_analyses

    assert_frozen_with_summary_and_frame(sensitivity_analyses(YI, VI, measure="MD"))
    decisions = parse_decisions({
        "overrides": {"imprecision": {"change": 0, "reason": "Narrow interval",
                                      "decided_by": "the review team"}},
        "exclude": [{"study": "a2020", "reason": "Retracted", "decided_by": "the review team"}]})
    assert_frozen_with_summary_and_frame(decisions)
    assert_frozen_with_summary_and_frame(apply_overrides("high", {"imprecision": -1}, decisions))
    assert_frozen_with_summary_and_frame(apply_exclusions(["a2020", "b2021"], decisions))
