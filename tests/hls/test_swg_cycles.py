"""The line-buffer window generator (hls/fpgaq/swg.h) compiled with g++: its loop runs exactly the number of
iterations (cycles at II = 1) the estimator's schedule predicts, and emits the windows numpy computes, for
geometries with padding, stride, dilation, groups and images narrower or shorter than the window."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from fpgaq.backends.hls.csim import ap_include_dir
from fpgaq.estimate import models
from fpgaq.resources import data_dir

# c, h, w, kh, kw, sh, sw, dh, dw, pt, pb, pl, pr, groups, simd
GEOMETRIES = [
    (4, 6, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2),
    (3, 7, 9, 3, 3, 2, 2, 1, 1, 1, 2, 0, 1, 1, 3),
    (6, 8, 6, 3, 2, 1, 2, 2, 1, 2, 2, 0, 1, 3, 1),
    (2, 1, 23, 1, 4, 1, 3, 1, 2, 0, 0, 2, 1, 1, 2),
    (8, 5, 5, 2, 2, 2, 2, 1, 1, 0, 1, 0, 1, 4, 2),
    (5, 3, 4, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 5, 1),
    (2, 9, 3, 1, 1, 3, 1, 1, 1, 0, 0, 0, 0, 1, 2),
]


def _output(g):
    c, h, w, kh, kw, sh, sw, dh, dw, pt, pb, pl, pr, groups, simd = g
    oh = (h + pt + pb - (kh - 1) * dh - 1) // sh + 1
    ow = (w + pl + pr - (kw - 1) * dw - 1) // sw + 1
    return oh, ow


def _reference(frame: np.ndarray, g, pad: int) -> np.ndarray:
    """Window words in (oh, ow, group, kh, kw, channel) order, flattened (numpy, the definition)."""
    c, h, w, kh, kw, sh, sw, dh, dw, pt, pb, pl, pr, groups, simd = g
    oh, ow = _output(g)
    padded = np.full((h + pt + pb, w + pl + pr, c), pad, dtype=np.int64)
    padded[pt : pt + h, pl : pl + w] = frame
    out = []
    for y in range(oh):
        for x in range(ow):
            for gi in range(groups):
                for i in range(kh):
                    for j in range(kw):
                        cg = c // groups
                        out.extend(padded[y * sh + i * dh, x * sw + j * dw, gi * cg : (gi + 1) * cg])
    return np.asarray(out, dtype=np.int64)


def _program(frames) -> str:
    parts = ["#include <cstdio>", '#include "fpgaq/swg.h"', "using namespace fpgaq;"]
    calls = []
    for n, (g, frame) in enumerate(zip(GEOMETRIES, frames)):
        c, h, w, kh, kw, sh, sw, dh, dw, pt, pb, pl, pr, groups, simd = g
        oh, ow = _output(g)
        rows = (kh - 1) * dh + 1 + sh
        parts.append(
            f"struct G{n} {{ static const int c = {c}, h = {h}, w = {w}, kh = {kh}, kw = {kw}, sh = {sh}, "
            f"sw = {sw}, dh = {dh}, dw = {dw}, pt = {pt}, pl = {pl}, oh = {oh}, ow = {ow}, groups = {groups}, "
            f"simd = {simd}, rows = {rows}; typedef ap_int<8> elem_t; }};"
        )
        values = ", ".join(str(v) for v in frame.reshape(-1))
        calls.append(f"""
    {{
        static const int frame[] = {{{values}}};
        hls::stream<Vec<ap_int<8>, {simd}> > in, out;
        for (int i = 0; i < {frame.size // simd}; i++) {{
            Vec<ap_int<8>, {simd}> word;
            for (int s = 0; s < {simd}; s++) word.v[s] = frame[i * {simd} + s];
            in.write(word);
        }}
        cycle_count() = 0;
        swg<G{n}>(in, out, ap_int<8>(-7));
        std::printf("cycles %lld\\n", cycle_count());
        while (!out.empty()) {{
            Vec<ap_int<8>, {simd}> word = out.read();
            for (int s = 0; s < {simd}; s++) std::printf("%d ", (int)word.v[s]);
        }}
        std::printf("\\nleft %d\\n", (int)in.size());
    }}""")
    return "\n".join(parts) + "\nint main() {" + "".join(calls) + "\n    return 0;\n}\n"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    rng = np.random.default_rng(5)
    frames = [rng.integers(-100, 100, size=(g[1], g[2], g[0])) for g in GEOMETRIES]
    folder = tmp_path_factory.mktemp("swg")
    (folder / "main.cpp").write_text(_program(frames))
    include = ["-I", str(data_dir("hls")), "-I", str(ap_include_dir())]
    subprocess.run(["g++", "-std=c++14", "-O0", "-DFPGAQ_COUNT_CYCLES", *include, "main.cpp", "-o", "swg"],
                   cwd=folder, check=True, capture_output=True)  # fmt: skip
    lines = subprocess.run([str(folder / "swg")], check=True, capture_output=True, text=True).stdout.splitlines()
    return frames, [lines[i : i + 3] for i in range(0, len(lines), 3)]


@pytest.mark.parametrize("n", range(len(GEOMETRIES)))
def test_loop_runs_the_estimated_cycles_and_emits_the_windows(runs, n):
    frames, outputs = runs
    cycles, words, left = outputs[n]
    g = GEOMETRIES[n]
    c, h, w, kh, kw, sh, sw, dh, dw, pt, pb, pl, pr, groups, simd = g
    oh, ow = _output(g)
    expected = models.swg(c=c, h=h, w=w, kh=kh, kw=kw, sh=sh, dh=dh, pt=pt, oh=oh, ow=ow, simd=simd, bits=8,
                          rows=(kh - 1) * dh + 1 + sh)  # fmt: skip
    assert int(cycles.split()[1]) == expected.cycles
    np.testing.assert_array_equal(np.array(words.split(), dtype=np.int64), _reference(frames[n], g, -7))
    assert left == "left 0"  # every input word consumed, also the rows no window reads
