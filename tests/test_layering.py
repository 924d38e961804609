"""The import layering of docs/architecture.md, held by a test: an arrow back up fails CI.

Every module of the package belongs to one layer; a module may import from a lower layer, or from
inside its own unit (its own subpackage, or itself), never from a higher layer or a sibling unit of
the same layer. Imports inside functions count: a lazy import up the flow is still an arrow up.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "evidencekit"

#: The layers, lowest first; each holds units (a top-level module or a subpackage).
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"errors", "jsonout", "vocab"}),   # no package imports at all, or only each other's
    frozenset({"scales", "io"}),                 # base utilities over the vocabularies
    frozenset({"evidence"}),                     # records, library, bibliography, settings
    frozenset({"stats"}),                        # effect sizes, pooling, models, bias
    frozenset({"grade"}),                        # comparisons, certainty, claims, wording
    frozenset({"loading"}),                      # load_library: every check the pipeline needs
    frozenset({"outputs", "audit"}),             # what is made from claims; audits of pages
    frozenset({"validation", "review"}),         # the one gate over every layer; notebook tables
    frozenset({"cli", "__init__", "__main__"}),  # the command and the lazy public API
)
LAYER_OF = {unit: i for i, layer in enumerate(LAYERS) for unit in layer}
#: Names the package root defines without importing anything; any module may read them.
ROOT_NAMES = frozenset({"__version__"})


def _unit(module: str) -> str:
    """'evidencekit.stats.pooling' -> 'stats'; 'evidencekit' -> '__init__'."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _modules() -> list[tuple[Path, str]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found.append((path, ".".join(parts)))
    return found


def _imports(path: Path, module: str):
    """(line, imported module) for every package import in ``path``, at any depth."""
    is_package = path.name == "__init__.py"
    package = module.removesuffix(".__init__") if is_package else module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("evidencekit"):
                continue
            if node.module is None or target == "evidencekit":
                for alias in node.names:
                    if target == "evidencekit" and alias.name in ROOT_NAMES:
                        continue
                    yield node.lineno, f"{target}.{alias.name}"
            else:
                yield node.lineno, target
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("evidencekit"):
                    yield node.lineno, alias.name


def test_every_module_has_a_layer():
    units = {_unit(m.removesuffix(".__init__")) if not m.endswith("evidencekit.__init__") else "__init__"
             for _, m in _modules()}
    assert units - set(LAYER_OF) == set(), "a new top-level module or subpackage needs a layer here"


def test_no_import_goes_up_the_layers():
    arrows_up = []
    for path, module in _modules():
        mine = "__init__" if module == "evidencekit.__init__" else _unit(module)
        for line, target in _imports(path, module):
            other = _unit(target)
            if other == mine:
                continue
            if other not in LAYER_OF or LAYER_OF[other] >= LAYER_OF[mine]:
                arrows_up.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {mine} imports {target}")
    assert arrows_up == []


def test_the_check_sees_an_arrow_up(tmp_path):
    """The walker finds a lazy import inside a function (so the test above can fail)."""
    fake = tmp_path / "evidencekit" / "stats" / "x.py"
    fake.parent.mkdir(parents=True)
    fake.write_text("def f():\n    from ..grade.claims import make_claims\n")
    assert list(_imports(fake, "evidencekit.stats.x")) == [(2, "evidencekit.grade.claims")]


VOCAB_NAMES = sorted(n for n in __import__("evidencekit.vocab", fromlist=["__all__"]).__all__)


@pytest.mark.parametrize("name", VOCAB_NAMES)
def test_each_shared_vocabulary_is_defined_once(name):
    """No module but vocab.py assigns a vocabulary's name, or spells out its members again."""
    from evidencekit import vocab

    value = getattr(vocab, name)
    members = set(value) if isinstance(value, (frozenset, tuple, dict)) and len(value) >= 3 else None
    again = []
    for path, module in _modules():
        if module == "evidencekit.vocab":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                    again.append(f"{path.name}:{node.lineno}: assigns {name}")
            if members and isinstance(node, (ast.Set, ast.Tuple, ast.List)) and node.elts and all(
                    isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
                if {e.value for e in node.elts} == members:
                    again.append(f"{path.name}:{node.lineno}: spells out {name}")
    assert again == []
