"""YAML 1.2 core-schema numbers, ambiguity refusals, range checks and invisible characters."""
from __future__ import annotations

import math
import unicodedata

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from evidencekit.evidence import yamlsafe
from evidencekit.evidence.yamlsafe import Loader, invisible_characters, scalar_problem


def load(text: str):
    return yaml.load(text, Loader=Loader)  # noqa: S506 - Loader is a SafeLoader subclass


def problems(text: str) -> list[str]:
    found = []

    def walk(node):
        if isinstance(node, yaml.ScalarNode):
            p = scalar_problem(node)
            if p:
                found.append(p)
        elif isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                walk(k)
                walk(v)
        elif isinstance(node, yaml.SequenceNode):
            for v in node.value:
                walk(v)

    walk(yaml.compose(text, Loader=Loader))
    return found


def test_loader_is_a_safe_loader():
    assert issubclass(Loader, yaml.SafeLoader) or issubclass(Loader, yaml.CSafeLoader)
    with pytest.raises(yaml.constructor.ConstructorError):
        load("x: !!python/object/apply:os.system ['true']")


@pytest.mark.parametrize("text, value", [
    ("1e5", 100000.0), ("-2.5E-3", -0.0025), ("0o17", 15), ("0x1f", 31), ("40", 40),
    ("TRUE", True), ("false", False), ("~", None), ("null", None), (".inf", math.inf),
    ("-.Inf", -math.inf), ("0", 0), ("-0.0", -0.0), ("2020-01-31", __import__("datetime").date(2020, 1, 31)),
])
def test_yaml_12_core_values(text, value):
    assert load(f"v: {text}")["v"] == value


@pytest.mark.parametrize("text, says", [
    ("040", "leading zero"), ("-007", "leading zero"), ("1:30.5", "base-60"), ("190:20:30", "base-60"),
    ("yes", "true/false"), ("Off", "true/false"), ("1_000", "underscores"), ("0b101", "underscores"),
    ("1_000.5", "underscores"),
])
def test_values_yaml_11_reads_differently_are_refused(text, says):
    (p,) = problems(f"v: {text}")
    assert says in p and "column 4" in p


@pytest.mark.parametrize("text", ['"040"', "'yes'", '"1:30"', "|\n  1:30\n"])
def test_quoted_values_are_text_as_written(text):
    assert problems(f"v: {text}") == []


@pytest.mark.parametrize("text", ["9223372036854775808", "123456789012345678901234567890",
                                  "1000000001", "-1000000001"])
def test_integers_beyond_the_bound_are_refused(text):
    (p,) = problems(f"n: {text}")
    assert "larger than 1,000,000,000" in p


@pytest.mark.parametrize("text", ["1.0e+300", "-1.7e308", "1e13", "2.0e12"])
def test_floats_beyond_the_bound_are_refused(text):
    (p,) = problems(f"sd: {text}")
    assert "larger than 1e+12" in p and "overflow" in p


@settings(max_examples=300, derandomize=True)
@given(st.floats(min_value=-yamlsafe.MAX_ABS_NUMBER, max_value=yamlsafe.MAX_ABS_NUMBER))
def test_every_float_within_the_bound_loads_exactly_and_its_square_is_finite(x):
    text = f"v: {x!r}"
    assert problems(text) == []
    got = load(text)["v"]
    assert got == x and math.isfinite(got ** 2 * got ** 2)


@settings(max_examples=300, derandomize=True)
@given(st.integers(min_value=-yamlsafe.MAX_ABS_INTEGER, max_value=yamlsafe.MAX_ABS_INTEGER))
def test_every_integer_within_the_bound_loads_as_itself(n):
    assert problems(f"v: {n}") == [] and load(f"v: {n}")["v"] == n


@settings(max_examples=200, derandomize=True)
@given(st.from_regex(r"\A0[0-9]{1,6}\Z"))
def test_every_leading_zero_integer_is_refused(text):
    assert any("leading zero" in p for p in problems(f"v: {text}"))


def test_invisible_characters_have_line_and_column():
    text = "a: 1\nb\u200b: 2\r\nc: x\u2028d: 3\rok: \u202e\n"
    found = invisible_characters(text)
    assert [(f.line, f.column, f.char) for f in found] == [
        (2, 2, "\u200b"), (3, 5, "\u2028"), (4, 5, "\u202e")]
    assert "U+200B (ZERO WIDTH SPACE)" in found[0].message
    assert found[2].message.startswith("invisible character U+202E (RIGHT-TO-LEFT OVERRIDE)")


def test_invisible_characters_are_capped():
    assert len(invisible_characters("\u200b" * 10_000, limit=20)) == 20


def test_invisible_set_covers_every_format_separator_and_control_character():
    for code in range(0x110000):
        ch = chr(code)
        if unicodedata.category(ch) in ("Cf", "Zl", "Zp", "Cc") and ch not in "\t\n\r":
            assert invisible_characters(ch), f"U+{code:04X} is not reported"
    assert invisible_characters("tab\tand text, é, 中文, emoji \U0001f600\n") == []
