"""A build folder's metadata is checked against the compiled library before any run: no crash, one error."""

from __future__ import annotations

import ctypes
import json
import shutil

import numpy as np
import pytest

from fpgaq.backends.hls.csim import LIBRARY, CSim, CSimError
from fpgaq.pipeline import build
from tests.frontend.test_ties import tie_model

X = np.linspace(-1, 1, 127, dtype=np.float32).reshape(1, 127)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("guard")
    tie_model(root / "m.onnx")
    build(root / "m.onnx", "pynq-z2", root / "out")
    return root / "out"


@pytest.fixture
def copy(folder, tmp_path):
    target = tmp_path / "out"
    shutil.copytree(folder, target)
    return target


def _edit(path, fn):
    host = json.loads(path.read_text())
    fn(host)
    path.write_text(json.dumps(host))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda h: h["output"].__setitem__("shape", [1000]), r"axis\.output\.num must be the output's 1000 elements"),
        (lambda h: h["output"].__setitem__("shape", [-1]), r"output\.shape must be a list of positive integers"),
        (lambda h: h["axis"]["output"].__setitem__("num", 254), r"axis\.output\.order must be a permutation"),
        (lambda h: h["axis"]["input"].__setitem__("order", [0] * 127), r"axis\.input\.order must be a permutation"),
        (lambda h: h["axis"]["input"].__setitem__("pack", 64), r"axis\.input must be num a multiple of pack"),
        (lambda h: h["input"].__setitem__("rounding", "SIDEWAYS"), r"input\.rounding must be one of ROUND"),
        (lambda h: h["input"]["scale"].__setitem__("values", [float("nan")]), r"input\.scale\.values must be finite"),
        (lambda h: h.__setitem__("input", []), r"host\.input must be dict"),
        (lambda h: h["output"].__setitem__("chain", [{"kind": "exec"}]), r"output\.chain\[0\]\.kind must be"),
    ],
)
def test_edited_host_json_is_refused(copy, edit, message):
    _edit(copy / "host.json", edit)
    with pytest.raises(CSimError, match=r"^'.*host\.json' is damaged \(host\.json: " + message):
        CSim(copy)


def test_host_json_that_disagrees_with_the_library_is_refused(copy):
    def swap(h):
        order = h["axis"]["output"]["order"]
        order[0], order[1] = order[1], order[0]

    _edit(copy / "host.json", swap)
    with pytest.raises(CSimError, match=r"does not match the compiled C-simulation \(axis\.output\.order\)"):
        CSim(copy)


def test_a_library_from_another_build_is_refused(copy, exported, tmp_path):
    path, _ = exported("mlp_float_bias", False)
    build(path, "pynq-z2", tmp_path / "other")
    shutil.copyfile(tmp_path / "other" / "csim" / LIBRARY, copy / "csim" / LIBRARY)
    with pytest.raises(CSimError, match=r"does not match the compiled C-simulation \(axis\.input\.num\)"):
        CSim(copy)


@pytest.mark.parametrize("text", ["", "[]", "[" * 100_000, '{"input": 1}', "\xff"])
def test_unreadable_host_json(copy, text):
    (copy / "host.json").write_text(text, errors="surrogateescape")
    with pytest.raises(CSimError, match=r"^'.*host\.json' is damaged"):
        CSim(copy)


def test_unreadable_report_json_does_not_stop_csim(copy):
    (copy / "report.json").write_text("[" * 100_000)
    assert CSim(copy).run(X).shape == (1, 127)


@pytest.mark.parametrize("name", ["mlp_float_bias", "cnn"])
def test_a_batch_split_over_threads_gives_the_same_outputs_in_order(built, name):
    """Frames are independent: 1, 3 and 7 threads (more threads than some chunks have frames) give the same outputs
    on every element, in the batch's order, for codes and for raw AXI-Stream words."""
    _, out, _ = built(name, False)
    one = CSim(out, jobs=1)
    x = np.random.default_rng(3).normal(0.0, 1.5, size=(11, *one.input_shape)).astype(np.float32)
    reference = one.run(x)
    words = one.host.pack_input(one.input_codes(x))
    for jobs in (3, 7, 20):
        sim = CSim(out, jobs=jobs)
        np.testing.assert_array_equal(sim.run(x), reference)
        np.testing.assert_array_equal(sim.run_words(words), one.run_words(words))
    np.testing.assert_array_equal(CSim(out, jobs=3).run(x[5:6]), reference[5:6])


@pytest.mark.parametrize("jobs", [0, -2, True])
def test_jobs_must_be_positive(built, jobs):
    from click.testing import CliRunner

    from fpgaq.cli import main

    _, out, _ = built("mlp_float_bias", False)
    with pytest.raises(CSimError, match="--jobs must be a positive number of threads"):
        CSim(out, jobs=jobs)
    if jobs is not True:
        result = CliRunner().invoke(
            main, ["csim", str(out), "--input", "x.npy", "--output", "y.npy", "--jobs", str(jobs)]
        )
        assert result.exit_code == 2 and "--jobs must be a positive number" in result.output


def test_a_library_compiled_for_another_cpu_is_refused(folder, monkeypatch):
    """A C-simulation library is compiled with -march=native and carries the target's digest (fpgaq_target): on a
    machine whose CPU differs (a build folder copied elsewhere) it is refused with the fix, never run. Where g++
    takes no -march=native the library is for the default target (digest 0) and loads anywhere."""
    from fpgaq.backends.hls import target

    lib = target.load(folder / "csim" / LIBRARY)
    lib.fpgaq_target.restype = ctypes.c_longlong
    compiled = lib.fpgaq_target()
    assert compiled == target.native_target()  # 0 where g++ takes no -march=native
    CSim(folder).run(X)
    monkeypatch.setattr(target, "native_target", lambda: 12345)
    if compiled:
        with pytest.raises(target.TargetMismatch, match=r"compiled for another CPU .*rebuild the folder on this one"):
            CSim(folder)
    else:
        CSim(folder).run(X)
