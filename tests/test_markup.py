"""Markdown escaping holds on GitHub's own renderer (cmark-gfm), block and inline, for any text."""
from __future__ import annotations

import html

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evidencekit.outputs.markup import MdSafe, html_finalize, md_escape, strip_controls

cmarkgfm = pytest.importorskip("cmarkgfm")
from cmarkgfm.cmark import Options  # noqa: E402

GFM = Options.CMARK_OPT_UNSAFE  # render raw HTML too, so an unescaped tag would show


def gfm(source: str) -> str:
    return cmarkgfm.github_flavored_markdown_to_html(source, options=GFM)


def as_text(value: str) -> str:
    """What the value must render as: its characters, whitespace collapsed, HTML-escaped."""
    return html.escape(" ".join(strip_controls(value).split()), quote=True).replace("&#x27;", "'")


HOSTILE = [
    "# Not a heading", "## two", "~~~", "~~~ python", "```", "> quoted", "- item", "+ item",
    "* item", "1. first", "3) third", "---", "===", "***", "___", "~~struck~~", "$x^2$", "$$E$$",
    "www.example.com", "see https://example.org/x now", "<script>alert(1)</script>",
    "<b>bold</b>", "&amp; &copy;", "a | b | c", "*em* _em_ **strong** __strong__", "`code`",
    "[link](https://x.org)", "![img](x.png)", "[^1]", "<https://x.org>", "\\", "a\\", "\\*",
    "line one\n# heading on line two", "caveat\n~~~\nswallowed", "    indented code", "| a |\n|---|",
    "x\n===", "\x00NUL\x00", "bidi \u202egnp.exe", "tab\tand\u2028separator", "-0.9 points",
    "#5 of 7", "0.1.0", "+1 more", "#######", "- - -", "--", "2) second",
]


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("context", ["{}", "- {}", "Text before {} and after", "1. {}", "> {}"])
def test_hostile_values_render_as_their_own_text(value, context):
    rendered = gfm(context.format(md_escape(value)))
    expected = gfm(context.format("PLACEHOLDER")).replace("PLACEHOLDER", as_text(value))
    assert rendered == expected


@settings(max_examples=400, derandomize=True, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("#>-+=*_~`$|&<>[]()!\\:/.w 1)\n\t\x00\u2028abcé")),
               min_size=1, max_size=40))
def test_any_text_renders_as_itself_in_a_list_item(value):
    rendered = gfm("- " + md_escape(value))
    expected = gfm("- PLACEHOLDER").replace("PLACEHOLDER", as_text(value))
    if not as_text(value):
        return  # nothing left to show
    assert rendered == expected


def test_escaping_is_one_line_and_keeps_safe_markdown():
    assert "\n" not in md_escape("a\nb\r\nc\u2028d")
    assert md_escape(MdSafe("<https://x.org>")) == "<https://x.org>"
    assert md_escape(None) == ""


def test_controls_are_stripped_in_html_too():
    from markupsafe import Markup

    assert html_finalize("a\x00b\u202ec") == "abc"
    kept = html_finalize(Markup("<b>x\x00</b>"))
    assert isinstance(kept, Markup) and kept == Markup("<b>x</b>")
    assert html_finalize(3) == 3
