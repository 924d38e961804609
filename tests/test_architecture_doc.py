"""docs/architecture.md stays true to the code: every module of the package has its row."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "evidencekit"


def test_every_module_is_described_in_the_architecture_page():
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `([\w/.]+\.py)` \|", page, re.M))
    modules = {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py")
               if p.name != "__init__.py" or p.parent.name in ("audit", "review") or p.parent == PACKAGE}
    assert modules - listed == set(), "add a row for each new module to docs/architecture.md"
    assert listed - modules == set(), "docs/architecture.md lists a module that no longer exists"


def test_the_page_names_no_owners_who_do_not_exist():
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert not re.search(r"\bowners?\b|talk to them", page, re.I)
