"""Exact accumulator widths on every test model (sized by the frontend); ClipThresholds is pure and idempotent."""

from __future__ import annotations

import numpy as np
import pytest

from fpgaq.bounds import accumulator_range
from fpgaq.frontend.lower import lower
from fpgaq.frontend.reader import load_qonnx
from fpgaq.ir import graph as ir
from fpgaq.ir.execute import execute
from fpgaq.ir.hostio import quantize_input
from fpgaq.ir.types import IntType
from fpgaq.passes import run_passes
from fpgaq.report.layers import layer_rows
from tests.models import BUILDERS


@pytest.mark.parametrize("name", list(BUILDERS))
def test_every_dot_product_carries_the_exact_width(exported, lowered, name):
    graph = lowered(exported(name, False)[0])
    rows = {r["name"]: r for r in layer_rows(graph)}
    dots = [n for n in graph.nodes if isinstance(n, ir.DOT_PRODUCT_OPS)]
    assert dots
    for node in dots:
        src = graph.tensors[node.inputs[0]]
        lo, hi = accumulator_range(node.weight, src.lo, src.hi, node.bias)
        acc = graph.tensors[node.output]
        assert (acc.lo, acc.hi) == (min(lo), max(hi))
        assert acc.dtype == IntType.for_range(min(lo), max(hi))
        row = rows[node.name]
        assert row["acc_bits"] == row["acc_bits_exact"] <= row["acc_bits_l1"] <= row["acc_bits_datatype"] + 1
        assert row["acc_bits_exact"] <= row["acc_bits_datatype"]


@pytest.mark.parametrize("name", ["cnn", "mlp_float_bias", "conv1d_bipolar"])
def test_passes_are_pure_idempotent_and_keep_results(exported, name):
    path, shape = exported(name, False)
    raw = lower(load_qonnx(path))
    snapshot = {n.name: n.thresholds.copy() for n in raw.nodes if isinstance(n, ir.Threshold)}
    once = run_passes(raw)
    twice = run_passes(once)
    for node in raw.nodes:  # the input graph is untouched
        if isinstance(node, ir.Threshold):
            np.testing.assert_array_equal(node.thresholds, snapshot[node.name])
    for a, b in zip(once.nodes, twice.nodes, strict=True):
        if isinstance(a, ir.Threshold):
            np.testing.assert_array_equal(a.thresholds, b.thresholds)
    x = np.random.default_rng(2).normal(0, 2, size=(128, *shape)).astype(np.float32)
    codes = quantize_input(raw.input, x)
    np.testing.assert_array_equal(execute(raw, codes)[raw.output.tensor], execute(once, codes)[once.output.tensor])


def test_thresholds_are_clipped_per_channel(exported, lowered):
    graph = lowered(exported("mlp_float_bias", False)[0])
    node = next(n for n in graph.nodes if isinstance(n, ir.Threshold))
    producer = graph.producer(node.inputs[0])
    src = graph.tensors[producer.inputs[0]]
    los, his = accumulator_range(producer.weight, src.lo, src.hi, producer.bias)
    t = np.broadcast_to(node.thresholds, (len(los), node.thresholds.shape[-1]))
    sign = np.broadcast_to(node.sign, (len(los),))
    for c, (lo, hi) in enumerate(zip(los, his, strict=True)):
        low, high = (lo, hi) if sign[c] > 0 else (-hi, -lo)
        assert t[c].min() >= low and t[c].max() <= high + 1
