"""Suite-wide pytest configuration.

Markers (registered in pyproject.toml): ``slow`` marks the tests that take many seconds (the
10 MB audit page, headless Chromium), so ``pytest -m "not slow"`` is the quick loop while
``make test`` runs everything.

Fixtures: ``bundled_library`` loads the bundled ``evidence/`` once per run and FAILS (listing
every validation error) when it does not load; tests of the bundled review use it instead of
skipping.

Hypothesis profiles. "ci" (the default, used locally too so that a failure seen in CI reproduces
on any machine) is deterministic: derandomize=True fixes the examples per test, and with no example
database nothing found in an earlier run changes what a later run tries. "explore" searches
randomly and harder; run it by hand to look for new counterexamples, then pin any it finds with
@example in the test:

    .venv/bin/python -m pytest tests/test_pool_properties.py --hypothesis-profile=explore
"""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=25, derandomize=True, database=None, deadline=None,
    suppress_health_check=[HealthCheck.too_slow], print_blob=True)
settings.register_profile(
    "explore", max_examples=2000, derandomize=False, deadline=None,
    suppress_health_check=[HealthCheck.too_slow], print_blob=True)
settings.load_profile("ci")


# ---------------------------------------------------------------------------------------------
# The bundled evidence: a test that needs it fails, never skips, when it does not load. A skip
# would turn a broken evidence folder (or an import error in the package) into a green run.

ROOT = Path(__file__).resolve().parents[1]
BUNDLED_EVIDENCE = ROOT / "evidence"


def load_evidence_or_fail(path: Path):
    """Load an evidence folder, or fail the calling test with every validation error."""
    from evidencekit.errors import InputError
    from evidencekit.validation import load_library, validate_evidence

    try:
        return load_library(path)
    except InputError as exc:
        try:
            errors = [str(m) for m in validate_evidence(path).errors]
        except InputError:
            errors = []
        pytest.fail(f"the evidence in {path.name}/ does not load; run `evidencekit validate "
                    f"{path.name}` and fix what it reports:\n  "
                    + ("\n  ".join(errors) or str(exc)), pytrace=False)


@pytest.fixture(scope="session")
def bundled_library():
    """The bundled ``evidence/`` folder as a :class:`~evidencekit.evidence.library.Library`.

    Fails the test (with every validation error, file and line) when the folder does not load.
    """
    return load_evidence_or_fail(BUNDLED_EVIDENCE)
