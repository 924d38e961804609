"""Schema errors in people's words: a pydantic error as a Message with file, line, field and fix.

:func:`validate_model` validates one YAML document against a record model; each error it finds
is located twice at once, in the model's types (for the field path, e.g. ``results[2].ci_low``)
and in the composed YAML nodes (for the line), and described as a sentence that says what is
wrong and what to do (the closest valid field name, the allowed values, the expected type).
"""
from __future__ import annotations

import datetime
import difflib
import re
import types
from dataclasses import dataclass
from typing import Annotated, Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from .reading import Collector
from .records import Study

__all__ = ["Where", "locate", "kind_of", "validate_model"]

# Common names people type for a field, mapped to the field evidencekit uses; difflib cannot see
# that "standard_deviation" means "sd".
_SYNONYMS = {
    "standard_deviation": "sd", "std": "sd", "stdev": "sd", "std_dev": "sd", "sd_": "sd",
    "p": "p_value", "pvalue": "p_value", "p_val": "p_value", "sample_size": "n", "n_total": "n",
    "lower": "ci_low", "upper": "ci_high", "lci": "ci_low", "uci": "ci_high",
    "ci_lower": "ci_low", "ci_upper": "ci_high", "type": "kind", "key": "id", "title": "short_title",
    "followup": "follow_up", "rob": "risk_of_bias", "effect": "estimate", "value": "estimate",
}

def _unwrap(tp: Any) -> Any:
    """Strip Annotated and Optional; a union of several models comes back as a tuple of them."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
            continue
        if origin in (Union, types.UnionType):
            args = tuple(a for a in get_args(tp) if a is not type(None))
            if len(args) == 1:
                tp = args[0]
                continue
            return args
        return tp


def _union_tags(tp: Any) -> dict[str, type[BaseModel]]:
    if not isinstance(tp, tuple):
        return {}
    tags = {}
    for member in tp:
        if isinstance(member, type) and issubclass(member, BaseModel) and "kind" in member.model_fields:
            tags[member.model_fields["kind"].default] = member
    return tags


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


@dataclass
class Where:
    line: int | None
    path: str
    model: type[BaseModel] | None  # the model at the end of the path (None when unknown)
    node: yaml.Node | None


def locate(root_model: type[BaseModel], root: yaml.Node, loc: tuple) -> Where:
    """Follow a pydantic error location through the model types and the YAML nodes at once."""
    tp: Any = root_model
    node: yaml.Node | None = root
    line: int | None = root.start_mark.line + 1
    parts: list[str] = []
    for elem in loc:
        current = _unwrap(tp)
        tags = _union_tags(current)
        if isinstance(elem, str) and elem in tags:
            # pydantic puts the discriminator value in the location; it is not a YAML key.
            tp = tags[elem]
            continue
        if isinstance(elem, int) and not isinstance(node, yaml.MappingNode):
            parts.append(f"[{elem}]")
            tp = None
            if get_origin(current) in (tuple, list):
                args = get_args(current)
                tp = args[0] if args else None
            if isinstance(node, yaml.SequenceNode) and 0 <= elem < len(node.value):
                node = node.value[elem]
                line = node.start_mark.line + 1
            else:
                node = None
            continue
        # A mapping key that YAML read as a number or null (`1: x`, `null: x`) arrives as such.
        name = "null" if elem is None else str(elem)
        parts.append(("." if parts else "") + name)
        tp = current.model_fields[name].annotation if (
            _is_model(current) and name in current.model_fields) else None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == name:
                    line = key.start_mark.line + 1
                    node = value
                    break
            else:
                node = None
        else:
            node = None
    end = _unwrap(tp)
    return Where(line, "".join(parts), end if _is_model(end) else None, node)


def _parent_model(root_model: type[BaseModel], root: yaml.Node, loc: tuple) -> type[BaseModel] | None:
    return locate(root_model, root, loc[:-1]).model if loc else root_model


def _suggest(name: str, valid: list[str]) -> str | None:
    normal = re.sub(r"[\s-]+", "_", name.strip().lower())
    if normal in valid and normal != name:
        return normal
    if normal in _SYNONYMS and _SYNONYMS[normal] in valid:
        return _SYNONYMS[normal]
    close = difflib.get_close_matches(normal, valid, n=1, cutoff=0.6)
    return close[0] if close else None


def _short(value: Any) -> str:
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()  # YAML made a date of an unquoted 2021-03-01
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]  # as written in YAML
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# What to do about the records' validator messages that do not say it themselves.
_VALUE_ERROR_FIXES = (
    ("needs a provenance", "add provenance: with source (address or table/page) and a short "
                           "verbatim quote"),
    ("exceeds n_randomised", "check the source: no more people can be analysed than randomised"),
    ("refers to outcome", "use one of the outcome ids, or add the outcome"),
    ("refers to arm", "use one of the arm ids, or add the arm"),
    ("duplicate", "give each its own id"),
    ("randomised is true", "set randomised: false, or correct the design"),
)


def kind_of(value: Any) -> str:
    """A value's YAML type in words."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, (datetime.date, datetime.datetime)):
        return "a date"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


# Messages that need nothing but the field name, the value and the constraint: pydantic error type
# -> what is wrong and what to do.
_NUMBER_FIX = "write the number alone (e.g. 4.2, no units or '%'), or null when not reported"
_PLAIN_MESSAGES = {
    "invalid_key": ("the key {got} is not a field name; field names are words such as 'notes' "
                    "(quote the key if it must be a number)"),
    "missing": ("required field '{name}' is missing; add it (evidence/README.md describes each "
                "field)"),
    "union_tag_not_found": ("this result has no 'kind'; add kind: arm-summary, effect-estimate, "
                            "p-value or narrative"),
    "finite_number": ("must be a finite number (got {got}); write null when the source does not "
                      "report the value"),
    **dict.fromkeys(("float_parsing", "float_type"),
                    "should be a number (got {got}); " + _NUMBER_FIX),
    **dict.fromkeys(("int_parsing", "int_type", "int_from_float"),
                    "should be a whole number (got {got}); " + _NUMBER_FIX),
    "string_type": ("should be text (got {type_of} {got}); put it in quotes, e.g. \"2015-03-01\" "
                    "or \"yes\""),
    "string_too_short": "is too short (got {got}); write at least {min_length} characters",
    "string_pattern_mismatch": ("{got} is not a valid id; use lower-case letters, digits and "
                                "hyphens, e.g. 'pain-6-months'"),
    **dict.fromkeys(("bool_type", "bool_parsing"), "should be true or false (got {got})"),
    **dict.fromkeys(("tuple_type", "list_type"),
                    "should be a list (lines starting with '- '), got {got}"),
    **dict.fromkeys(("model_type", "model_attributes_type", "dict_type"),
                    "should be a mapping of fields ('key: value' lines, indented under it), got "
                    "{got}"),
    "too_short": "needs at least {min_items} item(s); add them",
    "recursion_loop": "refers to itself through a YAML alias; write the values out",
}


def _describe(err: dict, root_model: type[BaseModel], root: yaml.Node) -> str:
    """A pydantic error as a sentence that says what is wrong and what to do."""
    kind = err["type"]
    loc = err["loc"]
    name = str(loc[-1]) if loc and isinstance(loc[-1], str) else None
    value = err.get("input")
    ctx = err.get("ctx") or {}
    simple = _PLAIN_MESSAGES.get(kind)
    if simple is not None:
        return simple.format(name=name, got=_short(value), type_of=kind_of(value),
                             min_length=ctx.get("min_length"), min_items=ctx.get("min_length", 1))
    if kind == "extra_forbidden":
        parent = _parent_model(root_model, root, loc)
        valid = sorted(parent.model_fields) if parent else []
        best = _suggest(name or "", valid)
        if best:
            return f"unknown field '{name}'; did you mean '{best}'? (rename it)"
        return (f"unknown field '{name}'; fields allowed here: {', '.join(valid)}"
                if valid else f"unknown field '{name}'; remove it")
    if kind == "literal_error":
        expected = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        best = _suggest(str(value), expected) if isinstance(value, str) else None
        hint = f"; did you mean '{best}'?" if best else ""
        return f"{_short(value)} is not allowed here; use one of: {', '.join(expected)}{hint}"
    if kind == "union_tag_invalid":
        expected = re.findall(r"'([^']*)'", str(ctx.get("expected_tags", "")))
        tag = ctx.get("tag")
        best = _suggest(str(tag), expected)
        hint = f"; did you mean '{best}'?" if best else ""
        return f"kind {tag!r} is not a result kind; use one of: {', '.join(expected)}{hint}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        bound = {"greater_than": f"greater than {ctx.get('gt')}",
                 "greater_than_equal": f"at least {ctx.get('ge')}",
                 "less_than": f"less than {ctx.get('lt')}",
                 "less_than_equal": f"at most {ctx.get('le')}"}[kind]
        fix = "check the source and correct the value"
        if name in ("sd", "baseline_sd", "se"):
            fix = ("an SD or SE must be positive; if the source does not give it, write null "
                   "and add a not_reported entry")
        elif name and (name == "n" or name.startswith("n_") or name == "k_studies"):
            fix = "a count must be positive; write null if the source does not give it"
        elif name == "ci_level":
            fix = "write the level as a fraction, e.g. 0.95 for a 95% CI"
        elif name == "p_value":
            fix = ("a p-value lies between 0 and 1; for 'P < 0.05' write p_value: 0.05 with "
                   "p_relation: '<'")
        return f"must be {bound} (got {_short(value)}); {fix}"
    if kind == "value_error":
        msg = str(ctx.get("error", err["msg"]))
        if ";" in msg:  # the record's own message already says what to do
            return msg
        for pattern, fix in _VALUE_ERROR_FIXES:
            if pattern in msg:
                return f"{msg}; {fix}"
        return f"{msg}; check the source and correct the value"
    return f"{err['msg']} (got {_short(value)})"


# Study-level validator messages name an id but carry no location; find the field they mean.
_STUDY_REFINEMENTS = (
    (re.compile(r"result '([^']+)' refers to outcome"), "outcome"),
    (re.compile(r"result '([^']+)' refers to arm '([^']+)'"), "arm"),
)


def _refine_study_error(msg: str, data: Any) -> tuple:
    """Location of a Study-level validator error, from the ids its message names."""
    if not isinstance(data, dict):
        return ()
    results = data.get("results") if isinstance(data.get("results"), list) else []
    for pattern, target in _STUDY_REFINEMENTS:
        match = pattern.search(msg)
        if not match:
            continue
        for i, r in enumerate(results):
            if isinstance(r, dict) and r.get("id") == match.group(1):
                if target == "outcome":
                    return ("results", i, "outcome")
                for j, a in enumerate(r.get("arms") or []):
                    if isinstance(a, dict) and a.get("arm") == match.group(2):
                        return ("results", i, "arms", j, "arm")
                return ("results", i)
    if msg.startswith("randomised is true"):
        return ("randomised",)
    match = re.match(r"duplicate (arm|outcome|result) id", msg)
    if match:
        return ({"arm": "arms", "outcome": "outcomes", "result": "results"}[match.group(1)],)
    return ()


def validate_model(model: type[BaseModel], data: Any, node: yaml.Node, shown: str,
                    out: Collector) -> BaseModel | None:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        located = [tuple(e["loc"]) for e in errors]
        for err, loc in zip(errors, located):
            # pydantic adds "needs at least one item" to a list whose items all failed; the item
            # errors already say what is wrong.
            if err["type"] == "too_short" and any(
                    other[:len(loc)] == loc and len(other) > len(loc) for other in located):
                continue
            text = _describe(err, model, node)
            if not loc and model is Study:
                loc = _refine_study_error(str((err.get("ctx") or {}).get("error", "")), data)
            where = locate(model, node, loc)
            out.error(shown, where.line, where.path or None, text)
        return None
