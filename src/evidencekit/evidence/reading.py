"""Reading evidence files safely: bounded, decoded text and one YAML document with its line marks.

Every problem becomes a :class:`~evidencekit.errors.Message` in a :class:`Collector` (file, line,
field path, what to do), never an exception. YAML is composed with PyYAML's safe loader
(:mod:`evidencekit.evidence.yamlsafe`), and the node graph is checked before anything is
constructed: tags outside the plain-data set, duplicate keys, merge keys, cyclic aliases and alias
bombs are refused, so reading an evidence file never runs code and never explodes in memory.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .. import io as _io
from ..errors import InputError, Message
from . import yamlsafe

__all__ = ["MAX_FILE_BYTES", "MAX_YAML_NODES", "Collector", "posix", "read_text", "load_yaml",
           "field_lines"]

#: Largest evidence file read. A study file is a few kilobytes and a review's references.bib rarely
#: passes a few hundred; anything near this size is the wrong file, and PyYAML (pure Python) would
#: take minutes on it.
MAX_FILE_BYTES = _io.MAX_EVIDENCE_BYTES

#: Largest YAML document, in nodes after expanding aliases. YAML aliases can nest to an exponential
#: size (the "billion laughs" file); validation walks every value, so the expanded size is capped.
MAX_YAML_NODES = 200_000

# The tags a plain-data YAML file resolves to. An explicit tag outside this set (e.g.
# !!python/object/apply:os.system) is refused before anything is constructed.
_SAFE_TAGS = frozenset(f"tag:yaml.org,2002:{t}" for t in (
    "str", "int", "float", "bool", "null", "map", "seq", "timestamp", "merge"))

# libyaml's safe loader where present (about 20x faster; same safe constructor, same line marks),
# else PyYAML's pure-Python SafeLoader. Never the full Loader.
# Its YAML 1.2 resolvers read `040`, `1:30`, `yes` and `1e5` as YAML 1.2 does, or refuse them
# (see :mod:`evidencekit.evidence.yamlsafe`).
_SafeLoader = yamlsafe.Loader


class Collector:
    """Collects messages for one validation run."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    def error(self, file: str | None, line: int | None, fieldpath: str | None, msg: str) -> None:
        self.messages.append(Message(file, line, fieldpath or None, msg))

    def warning(self, file: str | None, line: int | None, fieldpath: str | None, msg: str) -> None:
        self.messages.append(Message(file, line, fieldpath or None, msg, severity="warning"))


def posix(path: Path) -> str:
    return path.as_posix()


def read_text(path: Path, out: Collector) -> str | None:
    """The file's text, or ``None`` after reporting why it cannot be used (see :mod:`.io`)."""
    try:
        got = _io.read_bytes(path, limit=MAX_FILE_BYTES, kind="evidence file")
        text = _io.decode_text(got.data, got.shown, kind="evidence file")
    except InputError as exc:
        out.error(exc.file, exc.line, exc.field, exc.message)
        return None
    if got.symlink:
        # Followed, but said: a link can make the folder read a file that lives elsewhere.
        out.warning(got.shown, None, None, f"is a symlink; read from {got.resolved}. Copy the file "
                                           "into the evidence folder if it belongs to this review")
    return text


def _yaml_problem(exc: yaml.YAMLError) -> tuple[int | None, str]:
    problem = getattr(exc, "problem_mark", None)
    context = getattr(exc, "context_mark", None)
    mark = problem or context
    line = mark.line + 1 if mark is not None else None
    parts = [p for p in (getattr(exc, "context", None), getattr(exc, "problem", None)) if p]
    what = "; ".join(parts) if parts else str(exc).splitlines()[0]
    if problem is not None and context is not None and context.line != problem.line:
        # An unclosed quote or bracket is found only where the parser gives up; where the
        # enclosing part started is usually nearer the typo.
        what += f" (in the part that starts on line {context.line + 1})"
    return line, what


class _TooBig(Exception):
    pass


class _Cycle(Exception):
    pass


def _join(path: str, part: str | int) -> str:
    if isinstance(part, int):
        return f"{path}[{part}]"
    return f"{path}.{part}" if path else part


def _check_nodes(node: yaml.Node, shown: str, out: Collector) -> bool:
    """Refuse unsafe tags, duplicate keys, cyclic aliases and alias bombs. True when usable.

    Works on the composed node graph, before anything is constructed, so a refused tag never
    reaches a constructor.
    """
    ok = True
    sizes: dict[int, int] = {}
    on_path: set[int] = set()

    def visit(n: yaml.Node, path: str) -> int:
        nonlocal ok
        ident = id(n)
        if ident in sizes:
            return sizes[ident]
        if ident in on_path:
            raise _Cycle(n, path)
        on_path.add(ident)
        if n.tag not in _SAFE_TAGS:
            ok = False
            out.error(shown, n.start_mark.line + 1, path or None,
                      f"the YAML tag '{n.tag.replace('tag:yaml.org,2002:', '!!')}' is not allowed: "
                      "evidence files hold plain data (text, numbers, true/false, null, lists, "
                      "mappings); remove the tag")
        size = 1
        if isinstance(n, yaml.ScalarNode):
            problem = yamlsafe.scalar_problem(n)
            if problem:
                ok = False
                out.error(shown, n.start_mark.line + 1, path or None, problem)
        if isinstance(n, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key, value in n.value:
                name = key.value if isinstance(key, yaml.ScalarNode) else "?"
                if isinstance(key, yaml.ScalarNode) and key.tag == "tag:yaml.org,2002:merge":
                    # YAML 1.2 has no merge keys, and a merged key silently loses to a local one.
                    ok = False
                    out.error(shown, key.start_mark.line + 1, path or None,
                              "merge keys ('<<: *name') are not allowed: they hide which value a "
                              "key has, and YAML 1.2 has none; write the keys out")
                if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    if key.value in seen:
                        ok = False
                        out.error(shown, key.start_mark.line + 1, _join(path, name),
                                  f"key '{key.value}' appears twice in this mapping (first on "
                                  f"line {seen[key.value]}); YAML would silently keep only the "
                                  "last value: delete one")
                    else:
                        seen[key.value] = key.start_mark.line + 1
                size += visit(key, path) + visit(value, _join(path, name))
        elif isinstance(n, yaml.SequenceNode):
            for i, item in enumerate(n.value):
                size += visit(item, _join(path, i))
        if size > MAX_YAML_NODES:
            raise _TooBig()
        on_path.discard(ident)
        sizes[ident] = size
        return size

    try:
        visit(node, "")
    except _Cycle as exc:
        cyclic, path = exc.args
        out.error(shown, cyclic.start_mark.line + 1, path or None,
                  "an alias (*name) refers to the mapping or list that contains it; write the "
                  "values out instead of the self-reference")
        return False
    except _TooBig:
        out.error(shown, None, None, f"the YAML expands (through its aliases) to more than "
                                     f"{MAX_YAML_NODES:,} values; write values out instead of "
                                     "nesting aliases")
        return False
    return ok


def load_yaml(path: Path, out: Collector) -> tuple[yaml.Node, Any] | None:
    """Compose (for line numbers) and construct (for values) one YAML document, safely."""
    shown = posix(path)
    text = read_text(path, out)
    if text is None:
        return None
    if not text.strip():
        out.error(shown, None, None, "file is empty; fill it in (evidence/README.md shows a "
                                     "complete example) or delete it")
        return None
    hidden = yamlsafe.invisible_characters(text)
    if hidden:
        for ch in hidden:
            out.error(shown, ch.line, None, ch.message)
        return None
    loader = _SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            out.error(shown, None, None, "file has no YAML content (only comments or '---'); fill "
                                         "it in or delete it")
            return None
        if not _check_nodes(node, shown, out):
            return None
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        line, what = _yaml_problem(exc)
        out.error(shown, line, None, f"YAML syntax error: {what}. Check the indentation (spaces, "
                                     "not tabs), the ':' after each key, and quote text that "
                                     "contains ': ' or starts with a special character")
        return None
    except yaml.reader.ReaderError as exc:
        position = getattr(exc, "position", None)
        line = text[:position].count("\n") + 1 if isinstance(position, int) else None
        char = getattr(exc, "character", None)
        code = char if isinstance(char, int) else (ord(char) if isinstance(char, str) and char
                                                   else None)
        name = f" U+{code:04X}" if code is not None else ""
        out.error(shown, line, None, f"YAML cannot contain the control character{name}; delete "
                                     "it (it is often pasted in from a PDF or a web page)")
        return None
    except yaml.YAMLError as exc:
        out.error(shown, None, None, f"YAML error: {exc}; check the file's syntax")
        return None
    except RecursionError:
        out.error(shown, None, None, "the YAML is nested too deeply to read; an evidence file "
                                     "needs only a few levels of indentation")
        return None
    finally:
        loader.dispose()
    return node, data


def field_lines(node: yaml.Node | None, path: str, out: dict[str, int]) -> dict[str, int]:
    """Field path (``a.b[0].c``, as :mod:`evidencekit.grade.decisions` names fields) -> YAML line."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            sub = f"{path}.{key.value}" if path else str(key.value)
            out[sub] = key.start_mark.line + 1
            field_lines(value, sub, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, value in enumerate(node.value):
            out[f"{path}[{i}]"] = value.start_mark.line + 1
            field_lines(value, f"{path}[{i}]", out)
    return out
