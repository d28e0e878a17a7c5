"""The compiled C++ equals the golden executor on every element, for every test model, exporter and folding."""

from __future__ import annotations

import numpy as np
import pytest

from fpgaq.backends.hls.csim import CSim
from fpgaq.ir.execute import execute, run
from fpgaq.ir.hostio import quantize_input
from tests.models import BUILDERS

FOLDINGS = ["ones", "default", "max"]


def inputs(shape, n=256, seed=7):
    return np.random.default_rng(seed).normal(0.0, 1.5, size=(n, *shape)).astype(np.float32)


@pytest.mark.parametrize("folding", FOLDINGS)
@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "dynamo"])
@pytest.mark.parametrize("name", list(BUILDERS))
def test_csim_equals_golden(built, lowered, name, dynamo, folding):
    report, out, path = built(name, dynamo, folding)
    graph = lowered(path)
    x = inputs(graph.tensors[graph.input.tensor].shape)
    codes = quantize_input(graph.input, x)
    sim = CSim(out)
    np.testing.assert_array_equal(sim.run_codes(codes), execute(graph, codes)[graph.output.tensor])
    np.testing.assert_array_equal(sim.run(x), run(graph, x))
    dots = [r for r in report["layers"] if r["op"] in ("Dense", "Conv")]
    assert dots and all({"acc_bits", "pe", "simd", "weight_bits", "input_bits", "output_bits"} <= set(r) for r in dots)


def test_foldings_change_the_loops_not_the_result(built):
    _, out_ones, _ = built("cnn", False, "ones")
    _, out_max, _ = built("cnn", False, "max")
    top_ones = (out_ones / "hls" / "top.cpp").read_text()
    top_max = (out_max / "hls" / "top.cpp").read_text()
    assert top_ones != top_max  # different PE/SIMD instantiations


@pytest.mark.parametrize("name", [*BUILDERS, "residual"])
def test_native_and_ap_int_builds_are_identical(built, name, tmp_path):
    """The C-simulation computes with native 64-bit integers wrapped to each declared width (FPGAQ_NATIVE) where every
    declared type fits; the same sources compiled with ap_int, as Vitis HLS reads them, give the same output codes on
    every element (raw AXI-Stream bytes), for every test model."""
    import shutil

    from fpgaq.backends.hls.csim import LIBRARY, compile_library

    report, out, _ = built(name, False)
    native = CSim(out, jobs=1)
    assert report.compiled is None or report.compiled.get("native") in (True, None)
    shutil.copytree(out, tmp_path / "ap")
    info = compile_library(tmp_path / "ap" / "hls", tmp_path / "ap" / "csim" / LIBRARY, native=False)
    assert info["native"] is False and "-DFPGAQ_NATIVE" not in info["command"]
    ap = CSim(tmp_path / "ap", jobs=1)
    x = inputs(native.input_shape, n=64, seed=11)
    words = native.host.pack_input(native.input_codes(x))
    np.testing.assert_array_equal(native.run_words(words), ap.run_words(words))
    assert "-DFPGAQ_NATIVE" in compile_library(out / "hls", tmp_path / "again.so")["command"]  # eligible: chosen


@pytest.mark.parametrize("name", [*BUILDERS, "residual"])
def test_macs_per_frame_counts_every_dot_product(built, lowered, name):
    """The optimization level's measure of a design (macs_per_frame, read from config.h) is the graph's count: each
    dot-product layer's weights times its output positions."""
    from fpgaq.backends.hls.csim import macs_per_frame
    from fpgaq.ir import graph as ir

    _, out, path = built(name, False)
    graph = lowered(path)
    expected = 0
    for node in graph.nodes:
        if isinstance(node, ir.DOT_PRODUCT_OPS):
            shape = graph.tensors[node.output].shape
            positions = shape[1:] if isinstance(node, ir.Conv) else shape[:-1]
            expected += node.weight.size * int(np.prod(positions, dtype=np.int64))
    assert expected > 0
    assert macs_per_frame(out / "hls") == expected
    assert macs_per_frame(out / "no-such-folder") == 0
