"""Packaging promises: environment.yml follows pyproject.toml; the README opens with the two commands."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

if sys.version_info >= (3, 11):
    import tomllib

ROOT = Path(__file__).resolve().parents[1]

# conda-forge spells a few PyPI names differently; none of ours today, but the map says where to add.
CONDA_NAME = {"pyyaml": "pyyaml"}


def _name_and_spec(requirement: str) -> tuple[str, str]:
    match = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", requirement)
    assert match, requirement
    name = match.group(1).lower().replace("_", "-")
    return CONDA_NAME.get(name, name), match.group(2).replace(" ", "")


def test_environment_yml_lists_exactly_the_runtime_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = dict(_name_and_spec(r) for r in project["dependencies"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    listed: dict[str, str] = {}
    pip_section = None
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip_section = dep["pip"]
            continue
        name, spec = _name_and_spec(dep)
        if name in {"python", "pip"}:
            continue
        listed[name] = spec
    assert listed == wanted, "environment.yml and pyproject.toml disagree; pyproject is the source"
    assert "conda-forge" in env["channels"]
    assert pip_section is not None and pip_section[-1] == "-e ."


def test_readme_opens_with_the_two_commands():
    lines = [l.strip() for l in (ROOT / "README.md").read_text().splitlines() if l.strip()]
    head = "\n".join(lines[:12])
    assert "make run" in head and "make test" in head


def test_ci_runs_make_test():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "set -euo pipefail" in ci and "make test" in ci
