"""Estimates of built plans: totals are the kernels' sums, FPS follows the slowest kernel, MVU cycles follow the
folding, latency is a path through the dataflow."""

from __future__ import annotations

import numpy as np
import pytest

from fpgaq import frontend
from fpgaq.boards import load_board
from fpgaq.estimate import RESOURCES, estimate_plan
from fpgaq.estimate.models import CONTROL
from fpgaq.ir import graph as ir
from fpgaq.plan import kernels
from fpgaq.plan.folding import fold_limits, resolve_folding
from fpgaq.plan.planner import make_plan

MODELS = ["mlp_float_bias", "mlp_int_bias_per_channel", "cnn", "conv1d_bipolar", "token_mlp_pow2", "gap_trunc"]


def _estimate(exported, name, folding=None, board="pynq-z2", clock_ns=10.0):
    path, _ = exported(name, False)
    graph = frontend.load(path)
    fold = resolve_folding(graph, folding)
    plan = make_plan(graph, fold)
    return graph, fold, plan, estimate_plan(plan, load_board(board), clock_ns)


@pytest.mark.parametrize("name", MODELS)
def test_totals_are_sums_and_fps_follows_the_slowest_kernel(exported, name):
    graph, fold, plan, est = _estimate(exported, name)
    kernels, totals = est["kernels"], est["totals"]
    assert len(kernels) == len(plan.kernels)
    for r in RESOURCES:
        assert totals[r] == sum(k[r] for k in kernels) + getattr(CONTROL, r)
        assert sum(layer[r] for layer in est["layers"].values()) == totals[r] - getattr(CONTROL, r)
    ii = max(k["cycles"] for k in kernels)
    assert totals["cycles_per_frame"] == ii
    assert totals["fps"] == pytest.approx(100e6 / ii)
    assert [k["bottleneck"] for k in kernels] == [k["cycles"] == ii for k in kernels]
    assert ii <= totals["latency_cycles"] <= sum(k["cycles"] for k in kernels)
    board = load_board("pynq-z2")
    assert totals["capacity"] == {r: getattr(board, r) for r in ("lut", "ff", "bram18", "dsp", "uram")}
    assert totals["utilization"]["lut"] == pytest.approx(totals["lut"] / board.lut)


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("folding", ["default", "ones"])
def test_mvu_cycles_follow_the_folding(exported, name, folding):
    path, _ = exported(name, False)
    graph = frontend.load(path)
    dots = [n for n in graph.nodes if isinstance(n, ir.DOT_PRODUCT_OPS)]
    spec = {n.name: {"pe": 1, "simd": 1} for n in dots} if folding == "ones" else None
    _, fold, _, est = _estimate(exported, name, spec)
    mvus = {k["layer"]: k["cycles"] for k in est["kernels"] if k["kernel"] == "mvu"}
    assert set(mvus) == {n.name for n in dots}
    for node in dots:
        oc, k = fold_limits(node)
        pe, simd = fold[node.name]
        if isinstance(node, ir.Conv):
            vectors, groups = int(np.prod(graph.tensors[node.output].shape[1:])), node.group
            if node.depthwise:  # a vector-vector unit: channels / PE blocks of kernel positions / SIMD
                groups = 1
        else:
            vectors, groups = int(np.prod(graph.tensors[node.inputs[0]].shape[:-1])), 1
        assert mvus[node.name] == vectors * groups * (oc // pe) * (k // simd)


def test_a_slower_clock_lowers_fps_but_not_cycles(exported):
    _, _, _, fast = _estimate(exported, "cnn", clock_ns=5.0)
    _, _, _, slow = _estimate(exported, "cnn", clock_ns=10.0)
    assert fast["totals"]["cycles_per_frame"] == slow["totals"]["cycles_per_frame"]
    assert fast["totals"]["fps"] == pytest.approx(2 * slow["totals"]["fps"])
    assert fast["totals"]["latency_us"] == pytest.approx(slow["totals"]["latency_us"] / 2)


def test_wide_products_use_dsps_and_narrow_ones_luts(exported):
    """mlp_rounding_modes: dense0 multiplies int5 weights by a uint8 input (DSP48s), dense1 int4 by uint4 (LUTs)."""
    _, fold, _, est = _estimate(exported, "mlp_rounding_modes")
    mvus = {k["layer"]: k for k in est["kernels"] if k["kernel"] == "mvu"}
    pe, simd = fold["dense0"]
    assert mvus["dense0"]["dsp"] == pe * simd
    assert mvus["dense1"]["dsp"] == 0


def test_sixteen_bit_outputs_become_a_requantizer(exported):
    """A 16-bit quantized output has 65,535 threshold levels: an exact requantizer (a multiply, an add and a
    shift per lane, proven equal to the thresholds), not 3M LUTs of LUTRAM nor a search of 16 dependent reads."""
    _, _, plan, est = _estimate(exported, "mlp_rounding_modes")
    mvu = next(k for k in plan.kernels if isinstance(k, kernels.Mvu) and k.layer == "dense3")
    assert isinstance(mvu.activation, kernels.FusedRequant) and mvu.activation.levels == 65535
    last = next(k for k in est["kernels"] if k["kernel"] == "mvu" and k["layer"] == "dense3")
    assert last["lut"] < 20_000 and last["cycles"] == mvu.folds


def test_bipolar_weights_take_one_bit(exported):
    """+-1 weights are stored as one bit each (1: +1, 0: -1) and costed so; the C-simulation of this model is
    bit-exact (tests/hls/test_csim_exact.py), so the sign-per-product path is checked end to end."""
    graph, _, plan, est = _estimate(exported, "conv1d_bipolar")
    mvus = {k.layer: k for k in plan.kernels if isinstance(k, kernels.Mvu)}
    first = next(n for n in graph.nodes if n.op == "Conv")
    assert set(np.unique(first.weight)) == {-1, 1}
    w = mvus[first.name].weights
    assert mvus[first.name].bipolar and (w.elem.bits, w.elem.signed) == (1, False)
    assert set(np.unique(w.values)) <= {0, 1}
    assert not any(m.bipolar for name, m in mvus.items() if name != first.name)  # 8-bit and 4-bit layers
