"""The native C-simulation's fast paths (hls/sim/fast.h) against the hardware loops they stand in for, compiled
with g++ from the kernel library: matrix-vector units (dense, grouped, depthwise, bipolar; tile and accumulator
types exact, narrower than a tile's worst case, or wrapping the total) and sliding windows. The same program is
compiled three ways - native with the fast paths, native with -DFPGAQ_NO_FAST (the hardware loops) and ap_int -
and every output code must be equal; the fast path must be taken where no tile can wrap and refused where one can.
"""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from fpgaq.backends.hls.csim import ap_include_dir
from fpgaq.resources import data_dir
from tests.hls.test_swg_cycles import GEOMETRIES, _output, _reference

# kind, nv, g, simd, sf, pe, nf, in (bits, signed), weight bits (0: bipolar), tile: exact|narrow, total: exact|wrap
UNITS = [
    ("dense", 3, 1, 4, 3, 2, 3, (4, False), 4, "exact", "exact"),
    ("dense", 2, 1, 8, 2, 4, 2, (8, True), 8, "exact", "exact"),
    ("dense", 2, 1, 1, 7, 1, 5, (3, True), 2, "exact", "exact"),
    ("dense", 4, 1, 16, 4, 3, 2, (1, False), 0, "exact", "exact"),  # bipolar weights, 1-bit inputs
    ("dense", 2, 1, 8, 3, 2, 2, (2, True), 0, "exact", "exact"),
    ("dense", 2, 1, 4, 3, 2, 2, (6, False), 5, "narrow", "exact"),  # a tile can wrap: the loop must run
    ("dense", 3, 1, 4, 5, 2, 2, (5, True), 4, "exact", "wrap"),  # the total wraps in TA: equal modulo 2^W
    ("dense", 1, 1, 32, 8, 1, 1, (8, False), 8, "exact", "exact"),
    ("group", 2, 3, 2, 2, 2, 2, (4, False), 3, "exact", "exact"),
    ("group", 2, 2, 4, 2, 1, 3, (3, True), 4, "narrow", "exact"),
    ("group", 3, 2, 4, 2, 2, 1, (3, True), 4, "exact", "wrap"),
    ("depthwise", 5, 4, 3, 3, 2, 1, (4, False), 4, "exact", "exact"),
    ("depthwise", 3, 2, 1, 9, 8, 1, (8, True), 8, "exact", "exact"),
    ("depthwise", 3, 3, 9, 1, 1, 1, (2, False), 0, "exact", "exact"),
    ("depthwise", 2, 2, 3, 3, 4, 1, (7, False), 6, "narrow", "exact"),
    ("depthwise", 4, 2, 3, 3, 2, 1, (4, True), 4, "exact", "wrap"),
    # fused thresholds (levels, rows sorted or not, base): counted by a binary search in sorted rows
    ("dense", 3, 1, 4, 3, 2, 3, (4, False), 4, "exact", "exact", (15, "sorted", 0)),
    ("dense", 2, 1, 8, 2, 4, 2, (2, True), 0, "exact", "exact", (1, "sorted", -1)),
    ("dense", 2, 1, 4, 3, 2, 2, (4, False), 4, "exact", "exact", (16, "sorted", -8)),
    ("dense", 2, 1, 4, 3, 2, 2, (4, False), 4, "exact", "exact", (7, "shuffled", 0)),
    ("depthwise", 5, 4, 3, 3, 2, 1, (4, False), 4, "exact", "exact", (3, "sorted", 0)),
    ("group", 2, 3, 2, 2, 2, 2, (4, False), 3, "exact", "exact", (6, "sorted", -3)),
]


def _type(bits: int, signed: bool, ap: bool) -> str:
    if ap:
        return f"ap_{'' if signed else 'u'}int<{bits}>"
    return f"fpgaq::{'' if signed else 'u'}int_t<{bits}>"


def _range(bits: int, signed: bool) -> tuple[int, int]:
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)


def _bits_for(lo: int, hi: int) -> int:
    """The signed width that holds [lo, hi]."""
    bits = 1
    while not (-(1 << (bits - 1)) <= lo and hi <= (1 << (bits - 1)) - 1):
        bits += 1
    return bits


def _unit(n: int, spec, rng, ap: bool) -> tuple[str, str, np.ndarray]:
    """A configuration struct, a call printing every output code of unit n, and the codes of exact arithmetic
    (numpy: bias + the dot product, wrapped once to the accumulator's width)."""
    kind, nv, g, simd, sf, pe, nf, (in_bits, in_signed), w_bits, tile, total = spec[:11]
    levels, order, base = spec[11] if len(spec) > 11 else (0, "", 0)
    dw = kind == "depthwise"
    kg, ocg = simd * sf, pe * nf
    in_w = pe * simd if dw else simd
    x_lo, x_hi = _range(in_bits, in_signed)
    bipolar = w_bits == 0
    w_lo, w_hi = (0, 1) if bipolar else _range(w_bits, True)
    weights = rng.integers(w_lo, w_hi + 1, size=(g * nf * sf, pe * simd))
    values = np.where(weights == 1, 1, -1) if bipolar else weights
    bias = rng.integers(-20, 21, size=(pe, g * nf))
    worst = max(abs(x_lo), x_hi) * np.abs(values).reshape(g * nf * sf, pe, simd).sum(axis=2).max()
    inner = _bits_for(-worst, worst) + 1
    if tile == "narrow":
        inner -= 3  # some tile of extreme inputs wraps
    outer = _bits_for(-(worst * sf + 20), worst * sf + 20) + 1
    if total == "wrap":
        outer = max(2, outer - 4)
    words = nv * g * sf
    frame = rng.integers(x_lo, x_hi + 1, size=(words, in_w))
    frame[: words // 2] = x_hi if tile == "narrow" else frame[: words // 2]  # extremes make narrow tiles wrap
    t_in, t_in_c = _type(in_bits, in_signed, ap), "signed char" if in_signed else "unsigned char"
    sums = np.zeros((nv, g * nf, pe), dtype=np.int64)  # (vector, neuron fold, lane): bias + dot, wrapped to TA
    for v in range(nv):
        for gi in range(g):
            for f in range(gi * nf, (gi + 1) * nf):
                for pi in range(pe):
                    total = int(bias[pi, f])
                    for k in range(sf):
                        word = frame[(v * g + gi) * sf + k]
                        x = word[np.arange(simd) * pe + pi] if dw else word
                        total += int((values[f * sf + k, pi * simd : (pi + 1) * simd] * x).sum())
                    sums[v, f, pi] = (total + (1 << (outer - 1))) % (1 << outer) - (1 << (outer - 1))
    negate = rng.integers(0, 2, size=(pe, g * nf)).astype(bool)
    reach = int(worst * sf + 20)
    thresholds = rng.integers(-reach, reach + 1, size=(pe, g * nf, max(levels, 1)))
    signed_sums = np.where(negate.T[None], -sums, sums)  # what each lane compares
    for pi in range(pe):  # half the levels are values some output of the row takes: every comparison's tie
        for f in range(g * nf):
            ties = rng.choice(signed_sums[:, f, pi], size=max(levels, 1) // 2 + 1)
            thresholds[pi, f, : len(ties)] = ties[: max(levels, 1)]
    if order == "sorted":
        thresholds.sort(axis=2)
    else:
        thresholds = rng.permuted(thresholds, axis=2)
    y = signed_sums.transpose(0, 2, 1)[..., None]  # (vector, lane, fold, 1)
    counts = (thresholds[None] <= y).sum(axis=3)  # (vector, lane, fold)
    exact = (base + counts.transpose(0, 2, 1) if levels else sums).reshape(-1)
    tables = (
        f"static const int t{n}[{pe}][{g * nf}][{levels}] = " + _c_array(thresholds) + ";\n"
        f"static const bool neg{n}[{pe}][{g * nf}] = " + _c_array(negate.astype(int)) + ";\n"
        if levels
        else ""
    )
    out_t = _type(8, True, ap) if levels else "outer_t"
    act = f"levels = {levels}, base = {base}; typedef int thr_t; " if levels else "unused = 0; "
    config = (
        f"struct U{n} {{ static const int id = {n}, nv = {nv}, g = {g}, kg = {kg}, ocg = {ocg}, simd = {simd}, "
        f"pe = {pe}, in_w = {in_w}, dw = {int(dw)}, bipolar = {int(bipolar)};\n"
        f"    typedef {t_in} in_t; typedef signed char weight_t; typedef int bias_t;\n"
        f"    typedef {_type(inner, True, ap)} inner_t; typedef {_type(outer, True, ap)} outer_t; "
        f"typedef {out_t} out_t; static const int {act}}};\n"
        + tables
        + f"static const signed char w{n}[{g * nf * sf}][{pe * simd}] = "
        "{" + ", ".join("{" + ", ".join(map(str, row)) + "}" for row in weights) + "};\n"
        f"static const int b{n}[{pe}][{g * nf}] = "
        "{" + ", ".join("{" + ", ".join(map(str, row)) + "}" for row in bias) + "};\n"
        f"static const {t_in_c} x{n}[{words}][{in_w}] = "
        "{" + ", ".join("{" + ", ".join(map(str, row)) + "}" for row in frame) + "};\n"
    )
    probe = "" if ap else f'    std::printf("fast %d\\n", fast_taken<U{n}>(w{n}));\n'
    call = f"""
    {{
        hls::stream<Vec<U{n}::in_t, {in_w}> > in;
        hls::stream<Vec<U{n}::out_t, {pe}> > out;
        for (int i = 0; i < {words}; i++) {{
            Vec<U{n}::in_t, {in_w}> word;
            for (int s = 0; s < {in_w}; s++) word.v[s] = U{n}::in_t(x{n}[i][s]);
            in.write(word);
        }}
        {f"mvu_threshold<U{n}>(in, out, w{n}, b{n}, t{n}, neg{n});" if levels else f"mvu<U{n}>(in, out, w{n}, b{n});"}
{probe}        std::printf("unit");
        while (!out.empty()) {{
            Vec<U{n}::out_t, {pe}> word = out.read();
            for (int p = 0; p < {pe}; p++) std::printf(" %lld", (long long)word.v[p].to_int64());
        }}
        std::printf("\\nleft %d\\n", (int)in.size());
    }}"""
    return config, call, np.array(exact, dtype=np.int64)


def _c_array(values: np.ndarray) -> str:
    if values.ndim == 1:
        return "{" + ", ".join(str(int(v)) for v in values) + "}"
    return "{" + ", ".join(_c_array(row) for row in values) + "}"


def _frames() -> list[np.ndarray]:
    """An (H, W, C) frame per window geometry (tests/hls/test_swg_cycles.py's, whose numpy _reference defines the
    windows)."""
    rng = np.random.default_rng(5)
    return [rng.integers(-100, 100, size=(g[1], g[2], g[0])) for g in GEOMETRIES]


def _window(n: int, g, frame: np.ndarray, ap: bool) -> tuple[str, str]:
    c, h, w, kh, kw, sh, sw, dh, dw, pt, pb, pl, pr, groups, simd = g
    oh, ow = _output(g)
    t = _type(8, True, ap)
    frame = frame.reshape(-1, simd)  # NHWC words of SIMD channels
    config = (
        f"struct W{n} {{ static const int c = {c}, h = {h}, w = {w}, kh = {kh}, kw = {kw}, sh = {sh}, sw = {sw}, "
        f"dh = {dh}, dw = {dw}, pt = {pt}, pl = {pl}, oh = {oh}, ow = {ow}, groups = {groups}, simd = {simd}, "
        f"rows = {(kh - 1) * dh + 1 + sh}; typedef {t} elem_t; }};\n"
        f"static const signed char f{n}[{len(frame)}][{simd}] = " + _c_array(frame) + ";\n"
    )
    call = f"""
    {{
        hls::stream<Vec<{t}, {simd}> > in, out;
        for (int i = 0; i < {len(frame)}; i++) {{
            Vec<{t}, {simd}> word;
            for (int s = 0; s < {simd}; s++) word.v[s] = {t}(f{n}[i][s]);
            in.write(word);
        }}
        swg<W{n}>(in, out, {t}(-7));
        std::printf("window");
        while (!out.empty()) {{
            Vec<{t}, {simd}> word = out.read();
            for (int s = 0; s < {simd}; s++) std::printf(" %lld", (long long)word.v[s].to_int64());
        }}
        std::printf("\\nleft %d\\n", (int)in.size());
    }}"""
    return config, call


PROBE = """
// Whether the fast path computes unit C (a native build with the fast paths), else 0.
template <typename C>
int fast_taken(const typename C::weight_t w[][C::pe * C::simd]) {
#ifdef FPGAQ_SIM_FAST_H
    return fpgaq::fast::weights<C>(w).usable ? 1 : 0;
#else
    (void)w;
    return 0;
#endif
}
"""


def _program(ap: bool) -> str:
    rng = np.random.default_rng(11)
    units = [_unit(n, spec, rng, ap)[:2] for n, spec in enumerate(UNITS)]
    windows = [_window(n, g, frame, ap) for n, (g, frame) in enumerate(zip(GEOMETRIES, _frames()))]
    head = ["#include <cstdio>", '#include "fpgaq.h"', "using namespace fpgaq;", "" if ap else PROBE]
    configs = [c for c, _ in units + windows]
    calls = [call for _, call in units + windows]
    return "\n".join(head + configs) + "\nint main() {" + "".join(calls) + "\n    return 0;\n}\n"


def _exact() -> list[np.ndarray]:
    """Every unit's exact codes, from the generator state _program used."""
    rng = np.random.default_rng(11)
    return [_unit(n, spec, rng, False)[2] for n, spec in enumerate(UNITS)]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """{variant: stdout lines} for fast (native, fast paths), loops (native, -DFPGAQ_NO_FAST) and ap (ap_int)."""
    folder = tmp_path_factory.mktemp("fast")
    hls = data_dir("hls")
    variants = {"fast": (False, ["-DFPGAQ_NATIVE"]), "loops": (False, ["-DFPGAQ_NATIVE", "-DFPGAQ_NO_FAST"]),
                "ap": (True, [])}  # fmt: skip
    procs = {}
    for name, (ap, defines) in variants.items():
        (folder / f"{name}.cpp").write_text(_program(ap))
        command = ["g++", "-std=c++14", "-O1", "-pthread", *defines, "-I", str(hls / "sim"), "-isystem",
                   str(ap_include_dir()), "-I", str(hls), f"{name}.cpp", "-o", name]  # fmt: skip
        procs[name] = subprocess.Popen(command, cwd=folder, stderr=subprocess.PIPE, text=True)
    for proc in procs.values():
        _, err = proc.communicate()
        assert proc.returncode == 0, err[-3000:]
    return {
        name: subprocess.run([str(folder / name)], check=True, capture_output=True, text=True).stdout.splitlines()
        for name in variants
    }


def _results(lines: list[str], tag: str) -> list[str]:
    return [line for line in lines if line.startswith(tag)]


@pytest.mark.parametrize("n", range(len(UNITS)))
def test_matrix_vector_fast_path_equals_the_loop(outputs, n):
    fast, loops, ap = (_results(outputs[v], "unit")[n] for v in ("fast", "loops", "ap"))
    assert fast == loops == ap
    codes = np.array(fast.split()[1:], dtype=np.int64)
    exact = _exact()[n]
    if UNITS[n][9] == "narrow":  # a tile wraps in TS: the hardware's codes are not the exact sums, and the
        assert not np.array_equal(codes, exact)  # fast path, which would give those, was refused
        assert _results(outputs["fast"], "fast")[n] == "fast 0"
    else:
        np.testing.assert_array_equal(codes, exact)
        assert _results(outputs["fast"], "fast")[n] == "fast 1"
    assert all(line == "left 0" for line in _results(outputs["fast"], "left"))


@pytest.mark.parametrize("n", range(len(GEOMETRIES)))
def test_window_fast_path_equals_the_loop(outputs, n):
    fast, loops, ap = (_results(outputs[v], "window") for v in ("fast", "loops", "ap"))
    assert fast[n] == loops[n] == ap[n]
    oh, ow = _output(GEOMETRIES[n])
    c, kh, kw = GEOMETRIES[n][0], GEOMETRIES[n][3], GEOMETRIES[n][4]
    assert len(fast[n].split()) - 1 == oh * ow * kh * kw * c
    np.testing.assert_array_equal(
        np.array(fast[n].split()[1:], dtype=np.int64), _reference(_frames()[n], GEOMETRIES[n], -7)
    )
