"""`evidencekit pool` through evidencekit.cli.main."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from evidencekit.cli import main

REFERENCE = json.loads((Path(__file__).parent / "data" / "metafor-reference.json").read_text())
CASES = {c["name"]: c for c in REFERENCE["cases"]}
ITERATIVE_RTOL = 1e-6  # REML, as in test_pooling.py


@pytest.fixture
def normand_csv(tmp_path):
    inp = CASES["normand1999_MD"]["inputs"]
    frame = pd.DataFrame({k: inp[k] for k in ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")})
    frame.insert(0, "study", inp["source"])
    path = tmp_path / "normand.csv"
    frame.to_csv(path, index=False)
    return path


def test_pool_json_contract(normand_csv, capsys):
    assert main(["pool", str(normand_csv), "--measure", "SMD", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out) == ["k", "measure", "method", "estimate", "se", "ci_low", "ci_high", "z", "p",
                         "tau2", "i2", "h2", "q", "q_p", "pi_low", "pi_high", "studies"]
    ref = CASES["normand1999_SMD"]["results"]["REML"]
    assert out["k"] == 9 and out["method"] == "REML" and out["measure"] == "SMD"
    assert out["tau2"] == pytest.approx(ref["tau2"], rel=ITERATIVE_RTOL)
    assert out["i2"] == pytest.approx(ref["I2"], rel=ITERATIVE_RTOL)
    assert len(out["studies"]) == 9


def test_pool_text_names_defaults(normand_csv, capsys):
    assert main(["pool", str(normand_csv), "--measure", "MD", "--method", "DL",
                 "--ci", "hksj"]) == 0
    text = capsys.readouterr().out
    assert "DerSimonian-Laird" in text and "Hartung-Knapp" in text and "prediction interval" in text


def test_gen_measure(tmp_path, capsys):
    case = CASES["bcg_RR"]
    path = tmp_path / "gen.csv"
    pd.DataFrame({"yi": case["yi"], "vi": case["vi"]}).to_csv(path, index=False)
    assert main(["pool", str(path), "--measure", "GEN", "--method", "PM", "--format",
                 "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["tau2"] == pytest.approx(case["results"]["PM"]["tau2"], rel=ITERATIVE_RTOL)


def test_missing_row_warns_on_stderr(tmp_path, capsys):
    path = tmp_path / "m.csv"
    path.write_text("study,yi,vi\nA,0.1,0.02\nB,,0.03\nC,0.4,0.05\n")
    assert main(["pool", str(path), "--measure", "GEN"]) == 0
    err = capsys.readouterr().err
    assert "warning" in err and "B" in err


@pytest.mark.parametrize("content, args, match", [
    ("m1i,sd1i\n1,2\n", ["--measure", "MD"], "missing column"),
    ("yi,vi\n0.1,abc\n", ["--measure", "GEN"], "non-number"),
    ("yi,vi\n0.1,-0.2\n0.2,0.1\n", ["--measure", "GEN"], "positive"),
    ("yi,vi\n0.1,0.2\n", ["--measure", "XX"], "unknown measure"),
    ("yi,vi\n0.1,0.2\n", ["--measure", "GEN", "--method", "BAD"], "unknown method"),
    ("", ["--measure", "GEN"], "cannot read"),
])
def test_bad_input_exits_2_without_traceback(tmp_path, capsys, content, args, match):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    assert main(["pool", str(path), *args]) == 2
    err = capsys.readouterr().err
    assert match in err and "Traceback" not in err


def test_file_not_found(capsys, tmp_path):
    assert main(["pool", str(tmp_path / "nope.csv"), "--measure", "GEN"]) == 2
    assert "not found" in capsys.readouterr().err
