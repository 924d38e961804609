"""docs/seed-claims.md: generated from the claims, complete, and never stale."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from evidencekit.validation import load_library

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_PAGE = ROOT / "tests" / "data" / "samples" / "patient-page-dry-needling.txt"

#: The kinds of health claim the two seed pages make (issue 12); each must have a row.
REQUIRED_KINDS = (
    "reduces pain", "improves range of motion", "speeds recovery", "safe", "3-6 sessions",
    "releases knots", "improves blood flow", "reduces inflammation", "resets the muscle",
    "twitch response means it worked", "all participants", "proves", "the JOSPT review",
    "the whiplash trial",
)


def _script():
    spec = importlib.util.spec_from_file_location("seed_claims", ROOT / "scripts" / "seed_claims.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def seed():
    return _script()


def test_committed_file_is_what_the_script_writes(seed):
    committed = (ROOT / "docs" / "seed-claims.md").read_text(encoding="utf-8")
    assert committed == seed.render(), (
        "docs/seed-claims.md is stale: run `python scripts/seed_claims.py` and commit it")


def test_every_kind_of_page_claim_has_a_row(seed):
    kinds = " / ".join(pc.kind for pc in seed.PAGE_CLAIMS)
    missing = [k for k in REQUIRED_KINDS if k not in kinds]
    assert not missing, missing


def test_every_row_is_answered_by_questions_that_exist(seed):
    library = load_library(ROOT / "evidence")
    for pc in seed.PAGE_CLAIMS:
        assert pc.questions, pc.kind
        unknown = [q for q in pc.questions if q not in library.questions]
        assert not unknown, (pc.kind, unknown)


def test_sample_page_quotes_are_verbatim(seed):
    page = " ".join(SAMPLE_PAGE.read_text(encoding="utf-8").split())
    for pc in seed.PAGE_CLAIMS:
        if pc.where == seed.OTHER:
            continue
        quote = " ".join(pc.says.replace(" ...", "").split()).rstrip(" .")
        assert quote in page, (pc.kind, quote)


def test_every_answer_comes_from_a_generated_claim(seed):
    text = seed.render()
    rows = [line for line in text.splitlines() if line.startswith("| ") and "certainty" in line]
    assert len(rows) == len(seed.PAGE_CLAIMS)
    assert "(no claim)" not in text


def test_table_cells_cannot_break_the_table(seed):
    assert seed._cell("a | b\nc <script>") == "a \\| b c &lt;script&gt;"
