"""Suite-wide pytest configuration.

Hypothesis profiles. "ci" (the default, used locally too so that a failure seen in CI reproduces
on any machine) is deterministic: derandomize=True fixes the examples per test, and with no example
database nothing found in an earlier run changes what a later run tries. "explore" searches
randomly and harder; run it by hand to look for new counterexamples, then pin any it finds with
@example in the test:

    .venv/bin/python -m pytest tests/test_pool_properties.py --hypothesis-profile=explore
"""
from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=25, derandomize=True, database=None, deadline=None,
    suppress_health_check=[HealthCheck.too_slow], print_blob=True)
settings.register_profile(
    "explore", max_examples=2000, derandomize=False, deadline=None,
    suppress_health_check=[HealthCheck.too_slow], print_blob=True)
settings.load_profile("ci")
