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
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'evidencekit' has no attribute {name!r}")
    return getattr(import_module(f".{module}", __name__), name)


def __dir__() -> list[str]:
    return __all__
