"""The native C-simulation's fast paths (hls/sim/fast.h) against the hardware loops they stand in for, compiled
with g++ from the kernel library: matrix-vector units (dense, grouped, depthwise, bipolar; tile and accumulator
types exact, narrower than a tile's worst case, or wrapping the total; fused thresholds), sliding windows, width
converters, forks, residual adds, standalone thresholds and requantizers, max pools. The same program is compiled
four ways - native with the fast paths in portable C++ and with -march=native (this CPU's vector instructions),
native with -DFPGAQ_NO_FAST (the hardware loops) and ap_int - and every output code must be equal, and equal to
numpy's exact codes; the matrix-vector fast path must be taken where no tile can wrap and refused where one can.
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
    # the pair product's blocks: 5 vectors of 16 channels (4 + 1), 2, 1 with 16-pixel blocks and a remainder of
    # pixels; an odd KG (the last pair half padding); grouped with thresholds over 2 groups of 24 channels
    ("dense", 21, 1, 3, 3, 8, 10, (4, False), 4, "exact", "exact", (15, "sorted", 0)),
    ("dense", 11, 1, 5, 1, 16, 2, (8, True), 8, "exact", "exact"),
    ("dense", 35, 1, 7, 1, 4, 4, (3, True), 3, "exact", "exact", (7, "shuffled", -2)),
    ("group", 19, 2, 3, 3, 8, 3, (4, False), 4, "exact", "exact", (3, "sorted", 0)),
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


def _wrap(values: np.ndarray, bits: int, signed: bool) -> np.ndarray:
    """values stored into a (bits, signed) integer: two's complement, or masked."""
    values = np.asarray(values, dtype=np.int64) & ((1 << bits) - 1)
    return values - ((values >> (bits - 1)) << bits) if signed else values


def _feed(name: str, t: str, rows: np.ndarray, tag: str) -> str:
    """C++ writing rows (words) into stream `name` of Vec<t, width>."""
    width = rows.shape[1]
    return (
        f"static const long long {tag}[{len(rows)}][{width}] = " + _c_array(rows) + ";\n"
        f"        for (int i = 0; i < {len(rows)}; i++) {{ Vec<{t}, {width}> word; "
        f"for (int s = 0; s < {width}; s++) word.v[s] = {t}({tag}[i][s]); {name}.write(word); }}\n"
    )


def _drain(name: str, width: int, label: str, end: bool = True) -> str:
    """C++ printing every word left in stream `name` after `label` (a line, unless not `end`)."""
    return (
        f'        std::printf("{label}");\n'
        f"        while (!{name}.empty()) {{ auto word = {name}.read(); "
        f'for (int s = 0; s < {width}; s++) std::printf(" %lld", (long long)word.v[s].to_int64()); }}\n'
        + ('        std::printf("\\n");\n' if end else "")
    )


def _kernels(ap: bool) -> tuple[str, str, list[tuple[str, np.ndarray]]]:
    """Configurations, calls and [(label, exact codes)] of the stream kernels with native fast paths: width
    converters (the same type: bytes copied; narrowing: each element wrapped), a fork, a residual add that wraps,
    standalone thresholds (lanes and rows, one row for a whole tensor, unsorted rows, inputs too wide for 32-bit
    counting), a requantizer, AXI-Stream unpacking and a max pool with padding on every side and negated
    channels."""
    rng = np.random.default_rng(23)
    ty = lambda bits, signed: _type(bits, signed, ap)  # noqa: E731
    configs, calls, exact = [], [], []

    def case(label: str, config: str, body: str, codes) -> None:
        configs.append(config)
        calls.append("    {\n" + body + "    }\n")
        exact.append((label, np.asarray(codes, dtype=np.int64).reshape(-1)))

    for n, (num, in_w, out_w, in_bits, out_bits) in enumerate([(48, 4, 6, 6, 4), (48, 8, 3, 4, 4)]):
        x = rng.integers(-(1 << (in_bits - 1)), 1 << (in_bits - 1), size=(num // in_w, in_w))
        step = int(np.gcd(in_w, out_w))
        config = (f"struct D{n} {{ static const int num = {num}, in_w = {in_w}, out_w = {out_w}, step = {step}; "
                  f"typedef {ty(in_bits, True)} in_t; typedef {ty(out_bits, True)} out_t; }};")  # fmt: skip
        body = (f"        hls::stream<Vec<D{n}::in_t, {in_w}> > in; hls::stream<Vec<D{n}::out_t, {out_w}> > out;\n"
                + _feed("in", f"D{n}::in_t", x, f"xd{n}") + f"        dwc<D{n}>(in, out);\n"
                + _drain("out", out_w, "dwc"))  # fmt: skip
        case("dwc", config, body, _wrap(x, out_bits, True))

    x = rng.integers(-16, 16, size=(10, 3))
    config = f"struct F0 {{ static const int words = 10, win = 3; typedef {ty(5, True)} elem_t; }};"
    body = ("        hls::stream<Vec<F0::elem_t, 3> > in, out0, out1;\n" + _feed("in", "F0::elem_t", x, "xf0")
            + "        fork2<F0>(in, out0, out1);\n" + _drain("out0", 3, "fork", end=False)
            + _drain("out1", 3, ""))  # fmt: skip
    case("fork", config, body, np.concatenate([x.reshape(-1), x.reshape(-1)]))

    a, b = rng.integers(-16, 16, size=(12, 3)), rng.integers(0, 16, size=(12, 3))
    config = (f"struct A0 {{ static const int id = 0, num = 36, win = 3, m0 = 3, m1 = -2; typedef {ty(5, True)} a_t; "
              f"typedef {ty(4, False)} b_t; typedef {ty(6, True)} out_t; typedef {ty(3, True)} m0_t; "
              f"typedef {ty(3, True)} m1_t; }};")  # fmt: skip
    body = ("        hls::stream<Vec<A0::a_t, 3> > a; hls::stream<Vec<A0::b_t, 3> > b; "
            "hls::stream<Vec<A0::out_t, 3> > out;\n" + _feed("a", "A0::a_t", a, "xa0") + _feed("b", "A0::b_t", b, "xb0")
            + "        add<A0>(a, b, out);\n" + _drain("out", 3, "add"))  # fmt: skip
    case("add", config, body, _wrap(3 * a - 2 * b, 6, True))  # 3 * -16 - 2 * 15 wraps in 6 bits

    # standalone thresholds: (num, win, rpl, levels, base, in bits, order)
    for n, (num, win, rpl, levels, base, in_bits, order) in enumerate(
        [
            (60, 2, 6, 7, -3, 6, "sorted"),
            (50, 1, 1, 15, 0, 5, "sorted"),
            (39, 3, 13, 4, 1, 7, "shuffled"),
            (24, 2, 2, 3, 0, 34, "sorted"),
        ]  # fmt: skip
    ):
        lo, hi = -(1 << (in_bits - 1)), (1 << (in_bits - 1)) - 1
        x = rng.integers(lo, hi + 1, size=(num // win, win))
        negate = rng.integers(0, 2, size=(win, rpl)).astype(bool)
        t = rng.integers(lo - 2, hi + 3, size=(win, rpl, levels))
        for e in range(win):  # ties: thresholds that equal some input of the row
            for r in range(rpl):
                seen = x[r::rpl, e] * (-1 if negate[e, r] else 1)
                t[e, r, : levels // 2] = rng.choice(seen, size=levels // 2)
        t = np.sort(t, axis=2) if order == "sorted" else t
        signed = np.where(negate.T[np.arange(num // win) % rpl], -x, x)  # (word, lane)
        rows = t.transpose(1, 0, 2)[np.arange(num // win) % rpl]  # (word, lane, level)
        counts = (rows <= signed[..., None]).sum(axis=2)
        thr_t = "long long" if in_bits > 30 else "int"
        config = (f"struct T{n} {{ static const int num = {num}, win = {win}, rpl = {rpl}, levels = {levels}, "
                  f"base = {base}; typedef {ty(in_bits, True)} in_t; typedef {thr_t} thr_t; "
                  f"typedef {ty(5, True)} out_t; }};\n"
                  f"static const {thr_t} tt{n}[{win}][{rpl}][{levels}] = " + _c_array(t) + ";\n"
                  f"static const bool nt{n}[{win}][{rpl}] = " + _c_array(negate.astype(int)) + ";")  # fmt: skip
        body = (f"        hls::stream<Vec<T{n}::in_t, {win}> > in; hls::stream<Vec<T{n}::out_t, {win}> > out;\n"
                + _feed("in", f"T{n}::in_t", x, f"xt{n}") + f"        threshold<T{n}>(in, out, tt{n}, nt{n});\n"
                + _drain("out", win, "threshold"))  # fmt: skip
        case("threshold", config, body, base + counts)

    # a standalone requantizer: count = clip((m * y + b) >> S, 0, L), y = -x where negated
    x = rng.integers(-32, 32, size=(12, 2))
    m, off, negate = rng.integers(1, 9, size=(2, 3)), rng.integers(-40, 40, size=(2, 3)), rng.integers(0, 2, (2, 3))
    y = np.where(negate.T[np.arange(12) % 3].astype(bool), -x, x)
    q = np.clip((m.T[np.arange(12) % 3] * y + off.T[np.arange(12) % 3]) >> 3, 0, 6)
    config = (f"struct R0 {{ static const int num = 24, win = 2, rpl = 3, levels = 6, shift = 3, base = -1; "
              f"typedef {ty(6, True)} in_t; typedef {ty(5, False)} mult_t; typedef {ty(8, True)} offset_t; "
              f"typedef {ty(16, True)} prod_t; typedef {ty(4, True)} out_t; }};\n"
              "static const R0::mult_t mr0[2][3] = " + _c_array(m) + ";\n"
              "static const R0::offset_t br0[2][3] = " + _c_array(off) + ";\n"
              "static const bool nr0[2][3] = " + _c_array(negate) + ";")  # fmt: skip
    body = ("        hls::stream<Vec<R0::in_t, 2> > in; hls::stream<Vec<R0::out_t, 2> > out;\n"
            + _feed("in", "R0::in_t", x, "xr0") + "        requantize<R0>(in, out, mr0, br0, nr0);\n"
            + _drain("out", 2, "requantize"))  # fmt: skip
    case("requantize", config, body, q - 1)

    # AXI-Stream words unpacked into elements: signed 12-bit elements five to a 64-bit word, unsigned bytes in 32
    for n, (word, pack, bits, signed) in enumerate([(64, 5, 12, True), (32, 4, 8, False)]):
        raw = rng.integers(0, 1 << 62, size=6, dtype=np.int64) * 4 + rng.integers(0, 4, size=6)  # all 64 bits vary
        raw = raw & ((1 << word) - 1) if word < 64 else raw
        shifts = (np.arange(pack) * bits).astype(np.uint64)
        fields = (raw[:, None].view(np.uint64) >> shifts) & np.uint64((1 << bits) - 1)
        config = (f"struct X{n} {{ static const int num = {6 * pack}, pack = {pack}, bits = {bits}, word = {word}; "
                  f"typedef {ty(bits, signed)} elem_t; }};\n"
                  f"static const unsigned long long xx{n}[6] = {{"
                  + ", ".join(f"{v}ULL" for v in raw.view(np.uint64)) + "};")  # fmt: skip
        body = (f"        hls::stream<ap_uint<{word}> > in; hls::stream<Vec<X{n}::elem_t, {pack}> > out;\n"
                f"        for (int i = 0; i < 6; i++) in.write(ap_uint<{word}>(xx{n}[i]));\n"
                f"        unpack_axis<X{n}>(in, out);\n" + _drain("out", pack, "unpack"))  # fmt: skip
        case("unpack", config, body, _wrap(fields.astype(np.int64), bits, signed))

    # max pool over window words (oh, ow, group, kh, kw) of 2 lanes, padding on every side, negated channels
    h, w, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, lanes, c = 5, 7, 3, 2, 2, 2, 1, 2, 1, 1, 3, 4, 2, 6
    groups = c // lanes
    x = rng.integers(-8, 8, size=(oh * ow * groups * kh * kw, lanes))
    sign = np.where(rng.integers(0, 2, size=(lanes, groups)) == 1, 1, -1)
    best = []
    for i, (o_h, o_w, g) in enumerate(np.ndindex(oh, ow, groups)):
        window = x[i * kh * kw : (i + 1) * kh * kw].reshape(kh, kw, lanes)
        inside = [(a, b) for a in range(kh) for b in range(kw)
                  if 0 <= o_h * sh - pt + a * dh < h and 0 <= o_w * sw - pl + b * dw < w]  # fmt: skip
        values = np.array([window[a, b] * sign[:, g] for a, b in inside])
        best.append(values.max(axis=0) * sign[:, g])
    config = (f"struct M0 {{ static const int c = {c}, h = {h}, w = {w}, kh = {kh}, kw = {kw}, sh = {sh}, sw = {sw}, "
              f"dh = {dh}, dw = {dw}, pt = {pt}, pl = {pl}, oh = {oh}, ow = {ow}, lanes = {lanes}; "
              f"typedef {ty(4, True)} in_t; typedef {ty(4, True)} out_t; }};\n"
              f"static const signed char sm0[{lanes}][{groups}] = " + _c_array(sign) + ";")  # fmt: skip
    body = (f"        hls::stream<Vec<M0::in_t, {lanes}> > in, out;\n" + _feed("in", "M0::in_t", x, "xm0")
            + "        maxpool<M0>(in, out, sm0);\n" + _drain("out", lanes, "maxpool"))  # fmt: skip
    case("maxpool", config, body, _wrap(np.array(best), 4, True))
    return "\n".join(configs), "".join(calls), exact


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
    kernel_configs, kernel_calls, _ = _kernels(ap)
    head = ["#include <cstdio>", '#include "fpgaq.h"', "using namespace fpgaq;", "" if ap else PROBE]
    configs = [c for c, _ in units + windows] + [kernel_configs]
    calls = [call for _, call in units + windows] + [kernel_calls]
    return "\n".join(head + configs) + "\nint main() {" + "".join(calls) + "\n    return 0;\n}\n"


def _exact() -> list[np.ndarray]:
    """Every unit's exact codes, from the generator state _program used."""
    rng = np.random.default_rng(11)
    return [_unit(n, spec, rng, False)[2] for n, spec in enumerate(UNITS)]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """{variant: stdout lines} for fast (native integers, fast paths, portable C++), native (the same with
    -march=native, as fpgaq builds it: the vector instructions of this CPU), loops (native, -DFPGAQ_NO_FAST) and
    ap (ap_int)."""
    folder = tmp_path_factory.mktemp("fast")
    hls = data_dir("hls")
    variants = {"fast": (False, ["-DFPGAQ_NATIVE"]), "native": (False, ["-DFPGAQ_NATIVE", "-march=native"]),
                "loops": (False, ["-DFPGAQ_NATIVE", "-DFPGAQ_NO_FAST"]), "ap": (True, [])}  # fmt: skip
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
    fast, native, loops, ap = (_results(outputs[v], "unit")[n] for v in ("fast", "native", "loops", "ap"))
    assert fast == native == loops == ap
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
    fast, native, loops, ap = (_results(outputs[v], "window") for v in ("fast", "native", "loops", "ap"))
    assert fast[n] == native[n] == loops[n] == ap[n]
    oh, ow = _output(GEOMETRIES[n])
    c, kh, kw = GEOMETRIES[n][0], GEOMETRIES[n][3], GEOMETRIES[n][4]
    assert len(fast[n].split()) - 1 == oh * ow * kh * kw * c
    np.testing.assert_array_equal(
        np.array(fast[n].split()[1:], dtype=np.int64), _reference(_frames()[n], GEOMETRIES[n], -7)
    )


KERNELS = [label for label, _ in _kernels(False)[2]]


@pytest.mark.parametrize("n", range(len(KERNELS)), ids=lambda n: f"{n}-{KERNELS[n]}")
def test_stream_kernel_fast_path_equals_the_loop(outputs, n):
    lines = {v: [line for line in outputs[v] if line.split(" ")[0] in KERNELS] for v in outputs}
    assert all(len(lines[v]) == len(KERNELS) for v in outputs)
    fast, native, loops, ap = (lines[v][n] for v in ("fast", "native", "loops", "ap"))
    assert fast == native == loops == ap
    label, exact = _kernels(False)[2][n]
    assert fast.split(" ")[0] == label
    np.testing.assert_array_equal(np.array(fast.split()[1:], dtype=np.int64), exact)
