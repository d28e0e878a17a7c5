"""The command line: tables, exit codes, one-line errors without tracebacks."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from fpgaq.cli import main


def fpgaq(*args):
    """Run the installed entry point as a user would (a real process: exit code, stdout, stderr)."""
    return subprocess.run([sys.executable, "-m", "fpgaq.cli", *args], capture_output=True, text=True, timeout=300)


def test_boards_lists_every_board():
    result = CliRunner().invoke(main, ["boards"])
    assert result.exit_code == 0
    for expected in ("pynq-z2", "xc7z020clg400-1", "53,200", "106,400", "280", "220", "zcu104", "arty-a7-100t"):
        assert expected in result.output


@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "dynamo"])
def test_inspect_prints_layers_and_totals(exported, dynamo):
    path, _ = exported("cnn", dynamo)
    result = CliRunner().invoke(main, ["inspect", path])
    assert result.exit_code == 0, result.output
    for expected in ("conv0", "Conv", "threshold0", "maxpool0", "add0", "sumpool0", "concat0", "dense0", "acc bits"):
        assert expected in result.output
    assert "totals: " in result.output and "dot products" in result.output


def test_user_errors_exit_2_with_one_line(tmp_path):
    missing = fpgaq("inspect", str(tmp_path / "none.onnx"))
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [f"error: model file not found: '{tmp_path / 'none.onnx'}'"]
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00\x01garbage")
    result = fpgaq("inspect", str(bad))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1


def test_debug_shows_the_traceback(tmp_path):
    result = fpgaq("--debug", "inspect", str(tmp_path / "none.onnx"))
    assert result.returncode != 0 and "Traceback" in result.stderr and "ModelError" in result.stderr
