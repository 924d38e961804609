"""The `evidencekit` command as a whole: help text, --version, paths with spaces, messages.

Per-subcommand behaviour is tested next to its module (test_cli_pool.py, test_validate_cli.py,
test_claims_cli.py, test_build.py, test_audit.py).
"""
from __future__ import annotations

import pytest

import evidencekit
from evidencekit import cli
from evidencekit.cli import main
from evidencekit.errors import InputError, Message
from test_library import make_evidence

SUBCOMMANDS = ("validate", "studies", "pool", "claims", "build", "audit")


def help_text(capsys, *argv) -> str:
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--help"])
    assert exc.value.code == 0
    return capsys.readouterr().out


def test_top_level_help_lists_every_command_and_the_shared_conventions(capsys):
    out = help_text(capsys)
    assert "``" not in out  # no reStructuredText leaking from a docstring
    for name in SUBCOMMANDS:
        assert f"\n    {name} " in out
    for phrase in ("--format json", "--evidence DIR", "./evidence", "Exit", "0 success",
                   "1 findings", "2 bad usage"):
        assert phrase in " ".join(out.split()), phrase


@pytest.mark.parametrize("command, defaults", [
    ("validate", ["./evidence", "Exit codes"]),
    ("studies", ["./evidence"]),
    ("pool", ["REML (default)", "wald (default", "m1i,sd1i,n1i,m2i,sd2i,n2i", "ai,bi,ci,di",
              "yi,vi", "Exit codes"]),
    ("claims", ["./evidence"]),
    ("build", ["./evidence", "build/", "Exit codes"]),
    ("audit", ["./evidence", "--strict", "html", "Exit codes"]),
])
def test_each_command_help_has_a_description_and_names_its_defaults(capsys, command, defaults):
    out = help_text(capsys, command)
    description = out.split("\n\n")[1]
    assert not description.startswith(("positional", "options")), "no description"
    flat = " ".join(out.split())
    for phrase in defaults:
        assert phrase in flat, (command, phrase)
    assert max(len(line) for line in out.splitlines()) <= 80


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"evidencekit {evidencekit.__version__}"


def test_no_command_is_bad_usage(capsys):
    with pytest.raises(SystemExit) as exc:
        main([])
    assert exc.value.code == 2 and "required: COMMAND" in capsys.readouterr().err


def test_broken_evidence_in_a_folder_with_spaces_gives_a_command_that_can_be_pasted(tmp_path,
                                                                                    capsys):
    root = make_evidence(tmp_path / "my review", edits=[(
        "studies/smith2020.yaml", "design: randomised-trial", "design: rct")])
    assert main(["studies", "--evidence", str(root)]) == 2
    err = capsys.readouterr().err
    assert f"run `evidencekit validate '{root}'`" in err and "Traceback" not in err


def test_missing_default_evidence_folder_says_how_to_choose_one(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["claims"]) == 2
    err = capsys.readouterr().err
    assert "evidence: error: evidence folder not found" in err and "--evidence DIR" in err


def test_ctrl_c_ends_without_a_traceback(capsys, monkeypatch):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_cmd_claims", interrupted)
    assert main(["claims"]) == cli.EXIT_INTERRUPTED == 130
    assert capsys.readouterr().err == "evidencekit: interrupted\n"


@pytest.mark.parametrize("kwargs, shown", [
    ({"file": "a.csv", "line": 3, "field": "vi"}, "a.csv:3 [vi]: error: m"),
    ({"file": "a.csv"}, "a.csv: error: m"),
    ({"field": "--method"}, "[--method]: error: m"),
    ({"line": 3}, "line 3: error: m"),
    ({}, "<input>: error: m"),
])
def test_message_names_only_what_is_known(kwargs, shown):
    assert str(InputError("m", **kwargs)) == shown
    assert str(Message(kwargs.get("file"), kwargs.get("line"), kwargs.get("field"), "m")) == shown
