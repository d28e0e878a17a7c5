"""Fuzzing the command line: generated valid QONNX graphs build and simulate exactly; mutated real exports end
in exit 0 or one `error:` line with exit 2 - never a traceback, a hang, or a file touched outside --out.

The longer campaign (more examples, every command in a subprocess): bench/fuzz_campaign.py.
"""

from __future__ import annotations

import contextlib
import os
import signal

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fpgaq import frontend
from fpgaq.backends.hls.csim import CSim
from fpgaq.cli import main
from fpgaq.ir.execute import run
from tests.fuzz_graphs import mutations, qonnx_graphs


def slow(examples: int):
    """Settings for examples that compile C++: no deadline, reproducible draws, a fixed number of examples."""
    checks = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large]
    return settings(max_examples=examples, deadline=None, suppress_health_check=checks, derandomize=True)


@contextlib.contextmanager
def time_limit(seconds: int):
    """Fail (instead of hanging the test run) when the block takes longer than `seconds`."""

    def expire(signum, frame):
        raise TimeoutError(f"took longer than {seconds} s")

    old = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def snapshot(root, skip):
    """Every path under root (but `skip`) with its size and modification time."""
    found = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if os.path.join(folder, d) != str(skip)]
        for name in dirs + files:
            path = os.path.join(folder, name)
            st_ = os.lstat(path)
            found[path] = (st_.st_size, st_.st_mtime_ns)
    return found


def invoke(*args):
    """The CLI in-process: (exit code, stdout, stderr); an exception other than SystemExit fails the test."""
    with time_limit(180):
        result = CliRunner().invoke(main, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"fpgaq {' '.join(map(str, args))} raised") from result.exception
    return result.exit_code, result.stdout, result.stderr


def assert_clean_outcome(code, stderr, args):
    lines = stderr.strip().splitlines()
    if code == 0:
        return
    assert code == 2, (args, code, stderr)
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in stderr, (args, stderr)
    assert all(line.startswith(("error: ", "warning: ")) for line in lines), stderr


@slow(6)
@given(case=qonnx_graphs(), folding=st.sampled_from(["default", "max"]))
def test_valid_graphs_build_and_simulate_exactly(tmp_path_factory, case, folding):
    model, shape = case
    folder = tmp_path_factory.mktemp("valid")
    path = folder / "m.onnx"
    onnx.save(model, str(path))
    extra = ["--target-fps", "max"] if folding == "max" else []
    code, _, stderr = invoke("build", path, "--board", "pynq-z2", "--out", folder / "out", *extra)
    assert code == 0, stderr
    x = np.random.default_rng(0).normal(0, 2, size=(24, *shape)).astype(np.float32)
    np.testing.assert_array_equal(CSim(folder / "out").run(x), run(frontend.load(path), x))


@pytest.fixture(scope="module")
def seeds(exported):
    """Real exports (both exporters) to mutate."""
    return [onnx.load(exported(name, dynamo)[0]) for name in ("mlp_float_bias", "cnn") for dynamo in (False, True)]


@slow(40)
@given(data=st.data())
def test_mutated_exports_end_cleanly(seeds, tmp_path_factory, data):
    model = seeds[data.draw(st.integers(0, len(seeds) - 1))]
    kind, blob, extra = data.draw(mutations(model))
    root = tmp_path_factory.mktemp(f"mutated_{kind}")
    folder = root / "in"
    folder.mkdir()
    (root / "outside.bin").write_bytes(b"\x00" * 64)
    path = folder / "m.onnx"
    path.write_bytes(blob)
    for name, content in extra.items():
        (folder / name).write_bytes(content)
    out = root / "out"
    before = snapshot(root, out)
    code, _, stderr = invoke("inspect", path)
    assert_clean_outcome(code, stderr, ("inspect", kind))
    if code == 0 and data.draw(st.integers(0, 3)) == 0:  # a quarter of the models that lower are also built
        code, _, stderr = invoke("build", path, "--board", "pynq-z2", "--out", out)
        assert_clean_outcome(code, stderr, ("build", kind))
        if code == 0:
            x = np.random.default_rng(1).normal(size=(4, *CSim(out).input_shape)).astype(np.float32)
            np.testing.assert_array_equal(CSim(out).run(x), run(frontend.load(path), x))
    assert snapshot(root, out) == before, "a file outside --out changed"


@slow(30)
@given(
    args=st.lists(
        st.sampled_from(
            [
                "build",
                "csim",
                "inspect",
                "synth",
                "--board",
                "pynq-z2",
                "PYNQ-Z9",
                "--out",
                "--force",
                "--input",
                "--output",
                "--labels",
                "--clock-ns",
                "inf",
                "-1",
                "1e-300",
                "--target-fps",
                "0",
                "max",
                "nan",
                "--folding",
                "m.onnx",
                "x.npy",
                "out",
                "--jobs",
                "--backend",
                "quartus",
                "\x1b[2J",
                "[red]",
            ]
        ),
        max_size=7,
    )
)
def test_command_line_misuse_ends_cleanly(tmp_path_factory, args):
    root = tmp_path_factory.mktemp("misuse")
    with contextlib.chdir(root):
        np.save("x.npy", np.zeros((2, 3), np.float32))
        code, _, stderr = invoke(*args)
    assert_clean_outcome(code, stderr, args)
