"""Accumulator widths proven in C-simulation: no overflow at the chosen width on random and adversarial inputs,
an overflow with one bit less (outer and, where tiled, inner), on every layer kind that accumulates."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from fpgaq.backends.hls.csim import CSim, OverflowDetected
from fpgaq.ir import graph as ir
from fpgaq.ir.adversarial import adversarial_codes, layer_graph
from fpgaq.ir.execute import execute
from fpgaq.ir.hostio import quantize_input
from fpgaq.ir.types import IntType
from fpgaq.pipeline import Target, build_graph, build_plan, fold, plan
from fpgaq.plan import kernels as k
from fpgaq.plan.folding import fold_limits

CASES = [  # (model, layer, what it covers)
    ("mlp_float_bias", "dense0", "Gemm, signed int8 input"),
    ("mlp_int_bias_per_channel", "dense1", "Gemm, unsigned input, integer bias in the accumulator"),
    ("token_mlp_pow2", "dense0", "MatMul over tokens"),
    ("cnn", "conv0", "Conv2d with padding and integer bias"),
    ("cnn", "conv1", "depthwise Conv2d"),
    ("cnn", "sumpool0", "average pool (sum before the division)"),
    ("conv1d_bipolar", "conv0", "Conv1d, bipolar weights, zero-point input"),
    ("conv1d_bipolar", "conv1", "Conv1d with stride and dilation"),
]


def narrowed(plan_: k.Plan, layer: str, inner: int = 0, outer: int = 0) -> k.Plan:
    """The plan with one layer's accumulator `inner`/`outer` bits wider (negative: narrower). A narrowed sum
    pool gets a width converter back to the stream type its reader declares."""
    kernels = []
    streams = list(plan_.streams)
    for kernel in plan_.kernels:
        if isinstance(kernel, k.Mvu) and kernel.layer == layer:

            def wider(t, d):
                return IntType(t.bits + d, t.signed)

            kernel = dataclasses.replace(kernel, inner=wider(kernel.inner, inner), outer=wider(kernel.outer, outer))
        elif isinstance(kernel, k.SumPool) and kernel.layer == layer and outer:
            declared = kernel.out
            narrow = k.Stream(f"{declared.name}n", IntType(declared.elem.bits + outer, declared.elem.signed),
                              declared.width, declared.words)  # fmt: skip
            streams.append(narrow)
            kernels.append(dataclasses.replace(kernel, out=narrow))
            kernel = k.WidthConverter(f"dwc_{narrow.name}", layer, narrow, declared, declared.width * declared.words)
        kernels.append(kernel)
    return dataclasses.replace(plan_, kernels=tuple(kernels), streams=tuple(streams))


def build_narrowed(graph, folding, out, layer, inner=0, outer=0) -> None:
    """Build `graph` (one layer) with that layer's accumulator changed, instrumented for overflow."""
    target = Target.of("pynq-z2")
    folded = fold(graph, target, folding)
    build_plan(graph, folded, narrowed(plan(graph, folded), layer, inner, outer), target, out, layer,
               check_overflow=True)  # fmt: skip


def _tiled_folding(node):
    if not isinstance(node, ir.DOT_PRODUCT_OPS):
        return None
    _, k = fold_limits(node)
    simd = next(d for d in range(2, k + 1) if k % d == 0)  # the smallest real tile: a multi-stage datapath
    return {node.name: {"pe": 1, "simd": simd}}


@pytest.mark.parametrize(("model", "layer", "what"), CASES, ids=[f"{m}-{n}" for m, n, _ in CASES])
def test_width_is_safe_and_minimal(exported, lowered, tmp_path, model, layer, what):
    graph = lowered(exported(model, False)[0])
    node = next(n for n in graph.nodes if n.name == layer)
    single = layer_graph(graph, node)
    out = graph.tensors[node.output]
    adversarial = adversarial_codes(graph, node)
    inp = graph.tensors[node.inputs[0]]
    rng = np.random.default_rng(0)
    random = rng.integers(inp.lo, inp.hi + 1, size=(64, *inp.shape))
    folding = _tiled_folding(node)

    build_graph(single, "pynq-z2", tmp_path / "exact", layer, folding=folding, check_overflow=True)
    sim = CSim(tmp_path / "exact")
    result = sim.run_codes(adversarial)
    sim.run_codes(random)
    np.testing.assert_array_equal(result, execute(single, adversarial)[node.output])
    assert result.max() == out.hi and result.min() == out.lo, "the adversarial frames reach both range ends"

    build_narrowed(single, folding, tmp_path / "short", layer, outer=-1)
    with pytest.raises(OverflowDetected, match=rf"^accumulator overflow in layer {layer}") as info:
        CSim(tmp_path / "short").run_codes(adversarial)
    assert info.value.layer == layer

    if folding is not None:
        build_narrowed(single, folding, tmp_path / "inner", layer, inner=-1)
        with pytest.raises(OverflowDetected, match=rf"^accumulator overflow in layer {layer}, channel \d+"):
            CSim(tmp_path / "inner").run_codes(adversarial)


@pytest.mark.parametrize("name", ["cnn", "mlp_rounding_modes", "conv1d_bipolar"])
def test_whole_model_never_overflows(exported, lowered, tmp_path, name):
    path, shape = exported(name, False)
    graph = lowered(path)
    build_graph(graph, "pynq-z2", tmp_path, name, check_overflow=True)
    sim = CSim(tmp_path)
    assert sim.instrumented
    x = np.random.default_rng(1).normal(0, 3.0, size=(128, *shape)).astype(np.float32)
    first = next(n for n in graph.nodes if isinstance(n, ir.DOT_PRODUCT_OPS))
    codes = np.concatenate([quantize_input(graph.input, x), adversarial_codes(graph, first)])
    np.testing.assert_array_equal(sim.run_codes(codes), execute(graph, codes)[graph.output.tensor])


def test_overflow_message_is_pinned(exported, lowered, tmp_path):
    graph = lowered(exported("mlp_float_bias", False)[0])
    node = graph.nodes[0]
    build_narrowed(layer_graph(graph, node), None, tmp_path, "dense0", outer=-2)
    with pytest.raises(
        OverflowDetected,
        match=r"^accumulator overflow in layer dense0, channel \d+: the exact value "
        r"-?\d+ does not fit its declared width \(\d+ overflowing values\)$",
    ):
        CSim(tmp_path).run_codes(adversarial_codes(graph, node))
