"""A build folder's metadata is checked against the compiled library before any run: no crash, one error."""

from __future__ import annotations

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
