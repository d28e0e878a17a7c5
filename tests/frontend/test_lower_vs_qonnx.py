"""The golden executor against qonnx's execute_onnx on Brevitas models, both exporters, every lowered op."""

from __future__ import annotations

import numpy as np
import pytest

from fpgaq import frontend
from fpgaq.ir import graph as ir
from fpgaq.ir.execute import execute, run
from fpgaq.ir.hostio import quantize_input
from tests import reference
from tests.models import BUILDERS

N_INPUTS = 256
EXACT_IN_FLOAT32 = {"token_mlp_pow2"}  # power-of-two scales: float32 is exact, so outputs must be identical
EXPORTERS = pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "dynamo"])


def inputs(shape, n=N_INPUTS, seed=1):
    return np.random.default_rng(seed).normal(0.0, 1.5, size=(n, *shape)).astype(np.float32)


@EXPORTERS
@pytest.mark.parametrize("name", list(BUILDERS))
def test_outputs_match_qonnx(exported, lowered, name, dynamo):
    path, shape = exported(name, dynamo)
    graph = lowered(path)
    x = inputs(shape)
    ours = run(graph, x)
    ref = reference.execute(reference.original_model(path), x)
    assert ours.shape == ref.shape and ours.dtype == np.float32
    np.testing.assert_array_equal(ours.argmax(-1), ref.argmax(-1))
    if name in EXACT_IN_FLOAT32:
        np.testing.assert_array_equal(ours, ref)
    scale = float(np.abs(ref).max())
    close = np.isclose(ours, ref, rtol=2e-6, atol=2e-6 * scale)
    if graph.output.quant is None:
        np.testing.assert_allclose(ours, ref, rtol=2e-6, atol=2e-6 * scale)
    else:  # a quantized output may differ by one code where QONNX's float32 value sits on a rounding tie
        step = float(np.max(graph.output.quant[0]))
        assert np.all(np.abs(ours - ref)[~close] <= step * (1 + 1e-6))
        assert (~close).mean() < 0.01


@EXPORTERS
@pytest.mark.parametrize("name", list(BUILDERS))
def test_intermediate_codes_match_qonnx(exported, lowered, name, dynamo):
    """Every Quant output's integer codes equal QONNX's; a difference may only be a float32 tie in QONNX."""
    path, shape = exported(name, dynamo)
    graph = lowered(path)
    x = inputs(shape)
    values = execute(graph, quantize_input(graph.input, x))
    model = reference.cleaned_model(path)
    ctx = reference.execute(model, x, full=True)
    assert graph.quantized, "no quantized tensor was mapped"
    compared = 0
    for onnx_name, tensor in graph.quantized.items():
        codes, node = reference.quant_codes(model, onnx_name, ctx[onnx_name])
        ours = values[tensor]
        assert ours.shape == codes.shape
        differ = ours != codes
        if differ.any():
            distance = reference.tie_distance(model, node, ctx[node.input[0]])[differ]
            magnitude = np.abs(ctx[node.input[0]])[differ] / float(np.min(model.get_initializer(node.input[1])))
            assert np.all(distance < 1e-3 + 1e-6 * magnitude), f"{onnx_name}: codes differ away from a rounding tie"
            assert np.abs(ours - codes)[differ].max() == 1
        compared += codes.size
    assert compared > 0


@EXPORTERS
def test_cnn_lowers_every_layer_kind(exported, lowered, dynamo):
    graph = lowered(exported("cnn", dynamo)[0])
    kinds = {type(n) for n in graph.nodes}
    assert {ir.Conv, ir.Threshold, ir.MaxPool, ir.Add, ir.SumPool, ir.Concat, ir.Reshape, ir.Dense} <= kinds
    depthwise = [n for n in graph.nodes if isinstance(n, ir.Conv) and n.group > 1]
    assert depthwise and depthwise[0].group == depthwise[0].weight.shape[0]
    assert any(isinstance(n, ir.Threshold) and (n.sign < 0).any() for n in graph.nodes), "negative BN gamma"


@EXPORTERS
def test_quantized_bias_enters_the_accumulator(exported, dynamo):
    graph = frontend.load(exported("mlp_int_bias_per_channel", dynamo)[0])
    dense = [n for n in graph.nodes if isinstance(n, ir.Dense)]
    assert all(n.bias is not None for n in dense)
    float_bias = frontend.load(exported("mlp_float_bias", dynamo)[0])
    assert all(n.bias is None for n in float_bias.nodes if isinstance(n, ir.Dense))


@EXPORTERS
def test_token_model_keeps_transpose_and_3d_matmul(exported, dynamo):
    graph = frontend.load(exported("token_mlp_pow2", dynamo)[0])
    assert any(isinstance(n, ir.Transpose) for n in graph.nodes)
    first = next(n for n in graph.nodes if isinstance(n, ir.Dense))
    assert graph.tensors[first.output].shape == (4, 6)
