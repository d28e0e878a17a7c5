"""Shape ops on the float model input before its quantizer (view, flatten, permute, squeeze, unsqueeze).

They commute with the elementwise quantizer: the host quantizes in the model input's layout and the shape ops
become IR Reshape/Transpose nodes on the codes. Power-of-two scales make the QONNX reference exact in float32,
so every output must be identical.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from brevitas import nn as qnn
from brevitas.quant import Int8ActPerTensorFixedPoint, Int8WeightPerTensorFixedPoint
from onnx import TensorProto, helper, numpy_helper

from fpgaq import frontend
from fpgaq.ir import graph as ir
from fpgaq.ir.execute import execute, run
from fpgaq.ir.hostio import quantize_input
from tests import reference
from tests.conftest import export

QDOMAIN = "qonnx.custom_op.general"
EXPORTERS = pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "dynamo"])


def _act(bits=8):
    return qnn.QuantIdentity(act_quant=Int8ActPerTensorFixedPoint, bit_width=bits, return_quant_tensor=True)


def _linear(k, n):
    return qnn.QuantLinear(k, n, bias=False, weight_quant=Int8WeightPerTensorFixedPoint, weight_bit_width=4)


def _relu():
    return qnn.QuantReLU(act_quant=Int8ActPerTensorFixedPoint, bit_width=4, signed=False, return_quant_tensor=True)


class ViewConv(torch.nn.Module):
    """x.view(-1, 1, 8, 8) of a flat input, then QuantIdentity and a convolution."""

    def __init__(self):
        super().__init__()
        self.inp = _act()
        self.conv = qnn.QuantConv2d(1, 4, 3, bias=False, weight_quant=Int8WeightPerTensorFixedPoint, weight_bit_width=4)
        self.relu = _relu()
        self.fc = _linear(4 * 36, 5)

    def forward(self, x):
        return self.fc(torch.flatten(self.relu(self.conv(self.inp(x.view(-1, 1, 8, 8)))), 1))


class FlattenDense(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.inp, self.fc = _act(), _linear(32, 5)

    def forward(self, x):
        return self.fc(self.inp(x.flatten(1)))


class PermuteConv(torch.nn.Module):
    """An NHWC input permuted to NCHW before its quantizer."""

    def __init__(self):
        super().__init__()
        self.inp = _act()
        self.conv = qnn.QuantConv2d(
            3, 4, 3, padding=1, bias=False, weight_quant=Int8WeightPerTensorFixedPoint, weight_bit_width=4
        )
        self.relu = _relu()
        self.fc = _linear(4 * 5 * 6, 3)

    def forward(self, x):
        return self.fc(torch.flatten(self.relu(self.conv(self.inp(x.permute(0, 3, 1, 2)))), 1))


class SqueezeDense(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.inp, self.fc = _act(), _linear(16, 4)

    def forward(self, x):
        return self.fc(self.inp(x.squeeze(1)))


class UnsqueezeConv1d(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.inp = _act()
        self.conv = qnn.QuantConv1d(1, 2, 3, bias=False, weight_quant=Int8WeightPerTensorFixedPoint, weight_bit_width=4)
        self.relu = _relu()
        self.fc = _linear(20, 3)

    def forward(self, x):
        return self.fc(torch.flatten(self.relu(self.conv(self.inp(x.unsqueeze(1)))), 1))


MODELS = {
    "view": (ViewConv, (64,), ir.Reshape),
    "flatten": (FlattenDense, (2, 4, 4), ir.Reshape),
    "permute": (PermuteConv, (5, 6, 3), ir.Transpose),
    "squeeze": (SqueezeDense, (1, 16), ir.Reshape),
    "unsqueeze": (UnsqueezeConv1d, (12,), ir.Reshape),
}


@pytest.fixture(scope="module")
def raw_exported(tmp_path_factory):
    cache = {}

    def get(name, dynamo):
        if (name, dynamo) not in cache:
            cls, shape, _ = MODELS[name]
            torch.manual_seed(0)
            folder = tmp_path_factory.mktemp(f"raw_{name}_{dynamo}")
            cache[name, dynamo] = (export(cls().eval(), shape, folder / "model.onnx", dynamo), shape)
        return cache[name, dynamo]

    return get


def inputs(shape, n=128, seed=3):
    return np.random.default_rng(seed).normal(0.0, 1.5, size=(n, *shape)).astype(np.float32)


@EXPORTERS
@pytest.mark.parametrize("name", list(MODELS))
def test_shape_ops_before_the_input_quantizer_match_qonnx(raw_exported, name, dynamo):
    path, shape = raw_exported(name, dynamo)
    graph = frontend.load(path)
    assert graph.tensors[graph.input.tensor].shape == shape, "the IR input keeps the model input's layout"
    assert isinstance(graph.nodes[0], MODELS[name][2]) and graph.nodes[0].inputs == (graph.input.tensor,)
    x = inputs(shape)
    np.testing.assert_array_equal(run(graph, x), reference.execute(reference.original_model(path), x))


@EXPORTERS
def test_input_codes_after_the_shape_ops_match_qonnx(raw_exported, dynamo):
    path, shape = raw_exported("permute", dynamo)
    graph = frontend.load(path)
    x = inputs(shape)
    values = execute(graph, quantize_input(graph.input, x))
    model = reference.cleaned_model(path)
    ctx = reference.execute(model, x, full=True)
    first = next(n for n in model.graph.node if n.op_type == "Quant" and n.input[0] in ctx)
    codes, _ = reference.quant_codes(model, first.output[0], ctx[first.output[0]])
    np.testing.assert_array_equal(values[graph.quantized[first.output[0]]], codes)


def _per_channel_graph(path, ops, out_shape, in_shape, scale, zero_point):
    """x -> shape ops -> Quant (per-channel scale and zero point) -> Relu -> Quant (per tensor) -> y."""
    inits = {"s": scale, "zp": zero_point, "b8": 8.0, "so": 0.5, "zo": 0.0, "b4": 4.0}
    nodes, name = [], "x"
    for i, (op, attrs, extra) in enumerate(ops):
        inputs = [name] + ([f"shape{i}"] if extra is not None else [])
        if extra is not None:
            inits[f"shape{i}"] = extra
        nodes.append(helper.make_node(op, inputs, [f"r{i}"], **attrs))
        name = f"r{i}"
    quant = dict(domain=QDOMAIN, rounding_mode="ROUND", signed=1, narrow=0)
    nodes += [
        helper.make_node("Quant", [name, "s", "zp", "b8"], ["q"], **quant),
        helper.make_node("Relu", ["q"], ["r"]),
        helper.make_node("Quant", ["r", "so", "zo", "b4"], ["y"], **quant),
    ]
    tensors = [
        numpy_helper.from_array(np.asarray(v, dtype=np.int64 if k.startswith("shape") else np.float32), k)
        for k, v in inits.items()
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, *in_shape])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, *out_shape])],
        tensors,
    )
    onnx.save(
        helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(QDOMAIN, 1)]), path
    )
    return str(path)


PER_CHANNEL = {
    # NHWC input, Transpose to NCHW, per-channel (C = 3) scale and zero point in the NCHW layout
    "transpose": (
        [("Transpose", {"perm": [0, 3, 1, 2]}, None)],
        (3, 4, 5),
        (4, 5, 3),
        np.array([0.25, 0.5, 0.125]).reshape(1, 3, 1, 1),
        np.array([0.0, 3.0, -2.0]).reshape(1, 3, 1, 1),
    ),
    # a flat input viewed as (3, 4), transposed to (4, 3); the parameters vary along the last axis
    "reshape_transpose": (
        [("Reshape", {}, [1, 3, 4]), ("Transpose", {"perm": [0, 2, 1]}, None)],
        (4, 3),
        (12,),
        np.array([0.25, 0.5, 0.125]).reshape(1, 1, 3),
        np.array([1.0, 0.0, -1.0]).reshape(1, 1, 3),
    ),
}


@pytest.mark.parametrize("case", list(PER_CHANNEL))
def test_per_channel_quantizer_after_shape_ops_maps_back_to_the_input_layout(tmp_path, case):
    ops, out_shape, in_shape, scale, zero_point = PER_CHANNEL[case]
    path = _per_channel_graph(tmp_path / "m.onnx", ops, out_shape, in_shape, scale, zero_point)
    graph = frontend.load(path)
    assert graph.tensors[graph.input.tensor].shape == in_shape
    x = inputs(in_shape, n=256)
    x[:4] = 0.0
    expect = reference.execute(reference.original_model(path), x)
    np.testing.assert_array_equal(run(graph, x), expect)


def test_float_preprocessing_of_the_input_is_folded_into_the_host_quantizer(tmp_path):
    """Reshape, then Mul by a per-channel constant, constant - x, Div and Add, then Quant: the host computes the
    same float32 ops in the model input's layout, so the codes equal QONNX's on every element."""
    quant = dict(domain=QDOMAIN, rounding_mode="ROUND", signed=1, narrow=0)
    nodes = [
        helper.make_node("Reshape", ["x", "shape"], ["r"]),
        helper.make_node("Mul", ["r", "gain"], ["m"]),
        helper.make_node("Sub", ["one", "m"], ["d"]),
        helper.make_node("Div", ["d", "three"], ["v"]),
        helper.make_node("Add", ["v", "bias"], ["a"]),
        helper.make_node("Quant", ["a", "s", "zp", "b8"], ["y"], **quant),
    ]
    consts = {"gain": [[[0.3], [1.7]]], "one": 1.0, "three": 3.0, "bias": [0.1, -0.2], "s": 0.01, "zp": 0.0, "b8": 8.0}
    inits = [
        numpy_helper.from_array(np.array([1, 2, 2], dtype=np.int64), "shape"),
        *(numpy_helper.from_array(np.asarray(v, dtype=np.float32), k) for k, v in consts.items()),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 2])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(QDOMAIN, 1)])
    onnx.save(model, str(tmp_path / "m.onnx"))
    lowered = frontend.load(tmp_path / "m.onnx")
    assert [op for op, _ in lowered.input.pre] == ["mul", "rsub", "div", "add"]
    assert lowered.input.pre[0][1].shape == (4,), "the per-channel constant, moved to the input's layout"
    x = inputs((4,), n=512)
    expect = reference.execute(reference.original_model(tmp_path / "m.onnx"), x)
    np.testing.assert_array_equal(run(lowered, x), expect)


def test_csim_equals_golden_with_a_permuted_input(raw_exported, tmp_path):
    from fpgaq.backends.hls.csim import CSim
    from fpgaq.pipeline import build

    path, shape = raw_exported("permute", False)
    build(path, "pynq-z2", tmp_path / "out", force=True)
    graph = frontend.load(path)
    x = inputs(shape, n=64)
    np.testing.assert_array_equal(CSim(tmp_path / "out").run(x), run(graph, x))
