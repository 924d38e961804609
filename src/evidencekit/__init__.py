"""evidencekit: review clinical evidence in Jupyter.

Typed study records with provenance, effect sizes and meta-analysis that reproduce R metafor,
GRADE-style certainty, claims worded no stronger than the evidence, and audits of patient pages.
The public API is re-exported here and loaded lazily, so ``import evidencekit`` is cheap.
"""
from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "load_library": "loading",
    "validate_evidence": "validation",
    "effect_sizes": "stats.effects",
    "pool": "stats.pooling",
    "pool_many": "stats.batch",
    "rate_certainty": "grade.certainty",
    "make_claims": "grade.claims",
    "audit_text": "audit",
    # What the notebooks use beyond the pipeline, so that they import only from evidencekit and
    # keep working when a module moves (only this mapping changes).
    "rate_all": "grade.certainty",
    "WORDING_LADDER": "grade.ladder",
    "with_decisions": "grade.decisions",
    "read_page": "audit",
    "render_leaflet": "outputs.leaflet",
    "forest_plot": "outputs.figures",
    "evidence_map": "outputs.evidence_figures",
    "risk_of_bias_plot": "outputs.evidence_figures",
    "load_metafor_reference": "stats.agreement",
    "metafor_agreement": "stats.agreement",
    "largest_differences": "stats.agreement",
    "agreement_table": "stats.agreement",
    "simulate_coverage": "stats.coverage",
    "coverage_study": "stats.coverage",
    "study_table": "review.studies",
    "risk_of_bias_table": "review.studies",
    "risk_of_bias_domains": "review.studies",
    "reporting_table": "review.studies",
    "missing_table": "review.studies",
    "reported_effects": "review.estimates",
    "arm_summary_effects": "review.estimates",
    "question_effects": "review.estimates",
    "direction_summary": "review.estimates",
    "summary_of_findings": "review.findings",
    "certainty_reasons": "review.findings",
    "show": "review.figures",
    "study_label": "review.figures",
    "plot_question_effects": "review.figures",
    "plot_coverage": "review.figures",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'evidencekit' has no attribute {name!r}")
    return getattr(import_module(f".{module}", __name__), name)


def __dir__() -> list[str]:
    return __all__
