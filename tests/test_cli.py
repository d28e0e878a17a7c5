"""The command line: tables, exit codes, one-line errors without tracebacks."""

from __future__ import annotations

import re
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
    np.save(tmp_path / "bad.npy", x.astype(np.float64) + 1e-9)
    bad = fpgaq("csim", str(tmp_path / "b"), "--input", str(tmp_path / "bad.npy"), "--output", str(tmp_path / "z.npy"))
    assert bad.returncode == 2 and bad.stderr.startswith("error: input must be float32: it is float64 and ")
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


def test_build_with_target_fps(exported, tmp_path):
    import json

    path, _ = exported("mlp_float_bias", False)
    ok = fpgaq("build", path, "--board", "pynq-z2", "--out", str(tmp_path / "b"), "--target-fps", "1e6")
    assert ok.returncode == 0, ok.stderr
    assert "estimate: " in ok.stdout and " FPS at 100 MHz" in ok.stdout and "report.html" in ok.stdout
    assert ok.stderr == ""  # not a terminal: no progress display
    report = json.loads((tmp_path / "b" / "report.json").read_text())
    assert report["folding_search"] == {"target_fps": 1e6, "target_cycles": 100}
    assert report["totals"]["fps"] >= 1e6
    best = fpgaq("build", path, "--board", "pynq-z2", "--out", str(tmp_path / "m"), "--target-fps", "max")
    assert best.returncode == 0, best.stderr
    too_fast = fpgaq("build", path, "--board", "pynq-z2", "--out", str(tmp_path / "c"), "--target-fps", "90e6")
    assert too_fast.returncode == 2
    lines = too_fast.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: 90,000,000 FPS needs at most 1 cycles per frame")
    assert "the fastest folding that fits pynq-z2 reaches" in lines[0]
    bad = fpgaq("build", path, "--board", "pynq-z2", "--out", str(tmp_path / "d"), "--target-fps", "fast")
    assert bad.returncode == 2 and "'fast' is neither a number nor 'max'" in bad.stderr


def test_csim_labels_record_accuracy(built, tmp_path):
    import json
    import shutil

    import numpy as np

    _, out, _ = built("mlp_float_bias", False)
    folder = tmp_path / "b"
    shutil.copytree(out, folder)
    x = np.random.default_rng(1).uniform(-1, 1, (20, 16)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "labels.npy", np.zeros(20, dtype=np.int64))
    args = ["csim", str(folder), "--input", str(tmp_path / "x.npy"), "--output", str(tmp_path / "y.npy")]
    result = fpgaq(*args, "--labels", str(tmp_path / "labels.npy"))
    assert result.returncode == 0, result.stderr
    expected = float((np.load(tmp_path / "y.npy").argmax(1) == 0).mean())
    assert f"accuracy {expected:.4f} on 20 samples" in result.stdout
    assert json.loads((folder / "report.json").read_text())["csim"]["accuracy"] == expected
    np.save(tmp_path / "short.npy", np.zeros(3, dtype=np.int64))
    short = fpgaq(*args, "--labels", str(tmp_path / "short.npy"))
    assert short.returncode == 2
    assert short.stderr.strip() == "error: labels must be 20 integers (one per sample), not int64 (3,)"


def test_progress_shows_on_a_terminal_unless_quiet(monkeypatch, capsys):
    from fpgaq import progress

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    progress.set_quiet(False)
    with progress.step("compiling"):
        pass
    err = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", capsys.readouterr().err)  # without the terminal's escapes
    assert "done compiling (0.0 s)" in err
    progress.set_quiet(True)
    try:
        with progress.step("compiling"):
            pass
        assert list(progress.track(range(3), 3, "x")) == [0, 1, 2]
    finally:
        progress.set_quiet(False)
    assert capsys.readouterr().err == ""


def test_demo(tmp_path):
    """The main job: train, AXE-quantize, build with the fastest folding that fits, C-simulate the test split."""
    import json

    result = fpgaq("demo", "--out", str(tmp_path / "demo"))
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "float MLP 64-96-48-10:" in out and "every accumulator <= 12 bits, verified: [12, 12, 12]" in out
    assert "(equal; predictions equal on 450/450)" in out
    assert "bits saved" in out and "estimate: " in out and "report.html" in out
    report = json.loads((tmp_path / "demo" / "build" / "report.json").read_text())
    csim = report["csim"]
    assert csim["samples"] == 450 and csim["agree"] == 450
    assert csim["accuracy"] == csim["reference_accuracy"] > 0.9
    assert report["folding_search"]["target_fps"] == "max"
    assert all(report["totals"]["utilization"][r] <= 0.85 for r in ("lut", "ff", "bram18", "dsp"))


def test_quantize_refuses_bad_data_and_widths_before_any_work(tmp_path):
    factory = "examples/digits_float.py:mlp"
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04 not a zip")
    cases = [
        (["--data", str(tmp_path / "bad.npz")], r"^error: '.*bad\.npz' is not a readable \.npz archive \(.*\)$"),
        (["--data", "digits", "--accumulator-bits", "2"], r"^error: accumulator_bits must be an integer from 3 to 62"),
        (["--data", "digits", "--weight-bits", "0"], r"^error: weight_bits must be an integer from 2 to 16, not 0$"),
    ]
    for args, message in cases:
        result = CliRunner().invoke(main, ["quantize", factory, *args, "--out", str(tmp_path / "q.onnx")])
        assert result.exit_code == 2 and re.match(message, result.stderr.strip()), result.stderr
    np_file = tmp_path / "nan.npz"
    import numpy as np

    np.savez(np_file, x_train=np.full((4, 64), np.nan, np.float32))
    result = CliRunner().invoke(main, ["quantize", factory, "--data", str(np_file), "--out", str(tmp_path / "q.onnx")])
    assert result.exit_code == 2 and "holds NaN or infinite values" in result.stderr
    assert not (tmp_path / "q.onnx").exists()
