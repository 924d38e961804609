"""The notebooks' analyses and tables, through the names the notebooks import from evidencekit:
agreement with the metafor reference, the coverage simulation, the study and findings tables."""
from __future__ import annotations

import math
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from evidence_fixture import make_evidence  # noqa: E402

import evidencekit as ek  # noqa: E402
from evidencekit.errors import InputError  # noqa: E402
from evidencekit.stats.agreement import magnitude, tolerance  # noqa: E402
from evidencekit.vocab import DOWN_DOMAINS, UP_DOMAINS  # noqa: E402

REFERENCE = Path(__file__).parent / "data" / "metafor-reference.json"


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    return ek.load_library(make_evidence(tmp_path_factory.mktemp("review") / "evidence"))


def test_every_notebook_name_is_exported():
    notebooks = Path(__file__).resolve().parents[1] / "notebooks"
    for source in sorted(notebooks.glob("[0-9][0-9]-*.py")):
        text = source.read_text(encoding="utf-8")
        assert "from evidencekit." not in text and "evidencekit import review" not in text, source
    for name in ("show", "study_table", "metafor_agreement", "coverage_study", "rate_all",
                 "read_page", "render_leaflet", "summary_of_findings", "forest_plot"):
        assert callable(getattr(ek, name)) and name in ek.__all__, name


def test_metafor_agreement_is_within_tolerance_for_every_analysis():
    agreement = ek.metafor_agreement(ek.load_metafor_reference(REFERENCE))
    assert set(agreement.columns) >= {"case", "analysis", "quantity", "ours", "metafor",
                                      "abs_diff", "rel_diff"}
    assert len(agreement) > 1000 and agreement["case"].nunique() >= 5
    table = ek.agreement_table(agreement)
    assert table["within"].all(), table[~table["within"]]
    worst = ek.largest_differences(agreement)
    assert worst["rel_diff"].is_monotonic_decreasing


def test_agreement_helpers():
    assert magnitude(0) == "0" and magnitude(3.2e-9) == "<= 1e-08"
    assert magnitude(1e-20) == "<= 1e-12"  # below the display floor
    assert tolerance("REML") == 1e-6 and tolerance("DL") == 1e-10


def test_metafor_reference_is_read_as_input(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        ek.load_metafor_reference(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"cases": [\n  oops\n]}', encoding="utf-8")
    with pytest.raises(InputError) as info:
        ek.load_metafor_reference(bad)
    assert info.value.line == 2 and "not JSON" in str(info.value)


def test_coverage_simulation_is_seeded_and_hksj_is_nearer_nominal():
    first = ek.simulate_coverage(3, 0.2, reps=400, seed=7)
    again = ek.simulate_coverage(3, 0.2, reps=400, seed=7)
    pd.testing.assert_frame_equal(first, again)
    wald, hksj = first.set_index("ci").loc[["Wald", "HKSJ"], "coverage"]
    assert hksj > wald  # with three studies the Wald interval is too narrow (IntHout 2014)
    row = first.iloc[0]
    assert math.isclose(row["mc_se"], 100 * math.sqrt(row["coverage"] / 100
                                                      * (1 - row["coverage"] / 100) / 400))
    grid = ek.coverage_study(ks=(3, 5), tau2s=(0.1,), reps=50, seed=1)
    assert list(grid["k"]) == [3, 3, 5, 5] and set(grid["ci"]) == {"Wald", "HKSJ"}
    with pytest.raises(InputError, match="at least 2 studies"):
        ek.simulate_coverage(1, 0.1, reps=10)


def test_study_tables_name_every_study(library):
    assert list(ek.study_table(library).index) == list(library.studies_frame().index)
    domains = ek.risk_of_bias_domains(library)
    assert set(domains.index.get_level_values("study")) == set(library.studies)
    reporting = ek.reporting_table(library)
    assert list(reporting.index) == list(library.studies)
    assert list(ek.missing_table(library).columns) == ["study", "item", "note"]


def test_summary_of_findings_has_one_column_per_grade_domain(library):
    ratings = ek.rate_all(library)
    sof = ek.summary_of_findings(ratings)
    assert list(sof.index) == list(ratings)
    for domain in DOWN_DOMAINS + UP_DOMAINS:
        assert domain in sof.columns
    reasons = ek.certainty_reasons(ratings)
    assert set(reasons.index.get_level_values("question")) == set(ratings)
    assert ek.study_label("smith-jones2020#pain") == "Smith Jones 2020"
