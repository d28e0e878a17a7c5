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
    assert "data-type bound" in result.output and "A2Q l1" in result.output and "saved" in result.output


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


def test_build_and_csim_from_the_command_line(exported, tmp_path):
    import numpy as np

    from fpgaq import frontend
    from fpgaq.ir.execute import run

    path, shape = exported("mlp_int_bias_per_channel", False)
    folding = tmp_path / "fold.json"
    folding.write_text('{"dense0": {"pe": 8, "simd": 4}}')
    result = CliRunner().invoke(
        main,
        [
            "build",
            path,
            "--board",
            "pynq-z2",
            "--out",
            str(tmp_path / "b"),
            "--folding",
            str(folding),
            "--clock-ns",
            "5",
            "--check-overflow",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "dense0" in result.output and "report.json" in result.output
    assert "instrumented for overflow" in result.output and "by the data-type bound" in result.output
    x = np.random.default_rng(3).normal(size=(64, *shape)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    result = CliRunner().invoke(
        main, ["csim", str(tmp_path / "b"), "--input", str(tmp_path / "x.npy"), "--output", str(tmp_path / "y.npy")]
    )
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), run(frontend.load(path), x))
    np.save(tmp_path / "bad.npy", x.astype(np.float64))
    bad = fpgaq("csim", str(tmp_path / "b"), "--input", str(tmp_path / "bad.npy"), "--output", str(tmp_path / "z.npy"))
    assert bad.returncode == 2 and bad.stderr.strip() == "error: input must be float32, not float64"
    unknown = fpgaq("build", path, "--board", "pynq-z3", "--out", str(tmp_path / "c"))
    assert unknown.returncode == 2 and unknown.stderr.startswith("error: unknown board 'pynq-z3'; known: ")


def test_quantize_command(tmp_path):
    import numpy as np

    script = tmp_path / "factory.py"
    script.write_text(
        "import torch\n"
        "def model():\n"
        "    torch.manual_seed(0)\n"
        "    return torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))\n"
    )
    rng = np.random.default_rng(0)
    np.savez(
        tmp_path / "d.npz",
        x_train=rng.random((64, 6), dtype=np.float32),
        x_test=rng.random((32, 6), dtype=np.float32),
        y_test=rng.integers(0, 3, 32),
    )
    out = tmp_path / "q.onnx"
    result = CliRunner().invoke(
        main,
        [
            "quantize",
            f"{script}:model",
            "--data",
            str(tmp_path / "d.npz"),
            "--method",
            "optq",
            "--accumulator-bits",
            "10",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "accuracy: float" in result.output and "verified <= 10" in result.output and out.is_file()
    bad = fpgaq("quantize", f"{script}:nothing", "--data", str(tmp_path / "d.npz"), "--out", str(out))
    assert bad.returncode == 2 and bad.stderr.strip() == f"error: {str(script)!r} has no function 'nothing'"
    bad = fpgaq("quantize", "model.py", "--data", "digits", "--out", str(out))
    assert (
        bad.returncode == 2 and bad.stderr.strip() == "error: model factory must be SCRIPT.py:FUNCTION, not 'model.py'"
    )
