"""Messages never pass terminal escapes, forged lines or look-alike keys through raw."""
from __future__ import annotations

import shutil
from pathlib import Path

from evidencekit.cli import main
from evidencekit.errors import InputError, Message, printable, terminal_safe

BASE = Path(__file__).parent / "bad_inputs" / "_base"


def test_printable_escapes_controls_separators_and_invisible_characters():
    assert printable("a\x1b[31mb\nc\r\u2028\u202e\u200b\ufeff\x00") == (
        "a\\x1b[31mb\\nc\\r\\u2028\\u202e\\u200b\\ufeff\\x00")
    assert printable("plain text, é, 中文") == "plain text, é, 中文"


def test_terminal_safe_keeps_tab_and_newline_only():
    assert terminal_safe("a\tb\nc\x1b]0;title\x07\r\u202e") == "a\tb\nc\\x1b]0;title\\x07\\r\\u202e"


def test_message_parts_from_input_are_escaped():
    m = Message("ev/\x1b[2Jx.yaml", 3, "n\u200b", "key 'n\u200b' appears twice\nforged: error")
    text = str(m)
    assert "\x1b" not in text and "\n" not in text and "\u200b" not in text
    assert text == "ev/\\x1b[2Jx.yaml:3 [n\\u200b]: error: key 'n\\u200b' appears twice\\nforged: error"


def test_input_error_details_are_one_escaped_line_each():
    err = InputError("2 error(s)", file="ev", details=[Message("a\nb", 1, None, "x"), "more\x1b"])
    assert str(err) == "ev: error: 2 error(s)\n  a\\nb:1: error: x\n  more\\x1b"


def test_file_name_with_escape_and_newline_does_not_reach_the_terminal(tmp_path, capsys):
    root = tmp_path / "ev\x1b[31m\nidence"
    shutil.copytree(BASE, root)
    (root / "studies" / "lee2021.yaml").write_text("id: lee2021\nnotes: [\n", encoding="utf-8")
    assert main(["validate", str(root)]) == 1
    out = capsys.readouterr().out
    assert "\x1b" not in out and "ev\\x1b[31m\\nidence" in out
    assert main(["studies", "--evidence", str(root)]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and all(line.startswith(("evidencekit:", "  ")) for line in
                                     err.splitlines()), err


def test_keys_that_look_the_same_are_shown_escaped(tmp_path, capsys):
    root = tmp_path / "evidence"
    shutil.copytree(BASE, root)
    study = root / "studies" / "lee2021.yaml"
    text = study.read_text(encoding="utf-8")
    study.write_text(text.replace("id: lee2021\n", "id: lee2021\nfunding\u200b: x\n", 1),
                     encoding="utf-8")
    assert main(["validate", str(root)]) == 1
    out = capsys.readouterr().out
    assert "U+200B (ZERO WIDTH SPACE)" in out and "\u200b" not in out


def test_every_command_output_goes_through_the_filter(capsys, monkeypatch):
    from evidencekit import cli

    def handler(args):
        print("title \x1b[8mhidden\x1b[0m")
        return 0

    monkeypatch.setattr(cli, "_cmd_validate", handler)
    assert cli.main(["validate", "x"]) == 0
    out = capsys.readouterr().out
    assert out == "title \\x1b[8mhidden\\x1b[0m\n"
