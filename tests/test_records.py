"""Record-level rules that other modules rely on: CI coherence and the printed-asymmetry check."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from evidencekit.evidence.records import EffectEstimate, json_schema

PROVENANCE = {"source": "https://example.org/abstract", "quote": "as printed in the abstract"}


def estimate(est, lo, hi, measure="MD"):
    return EffectEstimate(id="r", outcome="o", time_point="6 months", contrast="between-groups",
                          direction="benefit", provenance=PROVENANCE, measure=measure,
                          estimate=est, ci_low=lo, ci_high=hi)


@pytest.mark.parametrize("est, lo, hi", [
    (-4.4, -9.6, -0.74),   # Sterling 2015, 6 months: the example
    (-3.8, -9.1, -0.5),    # Sterling 2015, 12 months: off centre by 1.0 on a width of 8.6
    (-1.46, -2.04, 4.96),  # Ong 2014, 1 month
])
def test_printed_asymmetry_beyond_rounding_is_detected(est, lo, hi):
    assert estimate(est, lo, hi).ci_asymmetry_beyond_rounding()


@pytest.mark.parametrize("est, lo, hi, measure", [
    (-0.3, -5.4, 4.7, "MD"),      # Sterling 2015, 6 weeks
    (-1.0, -1.52, -0.59, "MD"),   # Hall 2018: 6 % off centre, exactly what one decimal allows
    (-1.46, -2.25, -0.67, "MD"),  # Fernández-de-las-Peñas 2021
    (1.89, 0.38, 9.39, "RR"),     # He 2017: symmetric on the log scale
])
def test_symmetric_up_to_rounding_is_not_flagged(est, lo, hi, measure):
    assert not estimate(est, lo, hi, measure).ci_asymmetry_beyond_rounding()


def test_estimate_outside_its_ci_is_refused():
    with pytest.raises(ValidationError, match="outside its CI"):
        estimate(1.0, -2.0, 0.5)


def test_reversed_ci_is_refused_with_a_fix():
    with pytest.raises(ValidationError, match="swap them"):
        estimate(0.0, 1.0, -1.0)


def test_records_are_frozen_and_strict():
    record = estimate(-0.3, -5.4, 4.7)
    with pytest.raises(ValidationError):
        record.estimate = 3.0  # frozen: provenance could not follow a silent edit
    with pytest.raises(ValidationError, match="extra"):
        EffectEstimate(**{**record.model_dump(), "estmate": 1.0})


def test_schema_forbids_unknown_fields_so_editors_flag_typos():
    schema = json_schema()
    assert schema["additionalProperties"] is False
    assert "results" in schema["properties"]
