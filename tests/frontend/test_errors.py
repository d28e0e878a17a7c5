"""Every user-facing frontend error, pinned: op type, node name and the valid choices."""

from __future__ import annotations

import re
import shutil

import numpy as np
import onnx
import pytest
import torch
from brevitas import nn as qnn
from onnx import TensorProto, helper, numpy_helper

from fpgaq import frontend
from fpgaq.errors import ModelError, UnsupportedOpError
from fpgaq.frontend.lower import SUPPORTED_OPS
from fpgaq.ir.execute import run
from tests.conftest import export

QDOMAIN = "qonnx.custom_op.general"


def qonnx_graph(path, nodes, inits, in_shape, out_shape, inputs=("x",)):
    tensors = [numpy_helper.from_array(np.asarray(v, dtype=np.float32), k) for k, v in inits.items()]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(i, TensorProto.FLOAT, in_shape) for i in inputs],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
        tensors,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(QDOMAIN, 1)])
    onnx.save(model, str(path))
    return str(path)


def quant(x, scale, out, bits="b8", signed=1):
    return helper.make_node(
        "Quant", [x, scale, "zp", bits], [out], domain=QDOMAIN, rounding_mode="ROUND", signed=signed, narrow=0
    )


class Sigmoid(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.inp = qnn.QuantIdentity(bit_width=8, return_quant_tensor=True)
        self.fc = qnn.QuantLinear(4, 3, bias=False, weight_bit_width=4)

    def forward(self, x):
        return torch.sigmoid(self.fc(self.inp(x)))


class FloatInput(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = qnn.QuantLinear(4, 3, bias=False, weight_bit_width=4)

    def forward(self, x):
        return self.fc(x)


class FloatWeights(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.inp = qnn.QuantIdentity(bit_width=8)
        self.fc = torch.nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(self.inp(x))


@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "dynamo"])
def test_unsupported_op_names_op_node_and_supported_list(tmp_path, dynamo):
    path = export(Sigmoid().eval(), (4,), tmp_path / "m.onnx", dynamo)
    with pytest.raises(UnsupportedOpError) as info:
        frontend.load(path)
    msg = str(info.value)
    assert re.fullmatch(r"unsupported op 'Sigmoid' at node 'Sigmoid_0'; supported: (.+)", msg)
    assert msg.endswith(", ".join(SUPPORTED_OPS))
    assert {"Quant", "BipolarQuant", "Trunc", "Gemm", "MatMul", "Conv", "Concat"} <= set(SUPPORTED_OPS)


def test_model_input_must_be_quantized(tmp_path):
    path = export(FloatInput().eval(), (4,), tmp_path / "m.onnx", False)
    with pytest.raises(
        UnsupportedOpError,
        match=r"^MatMul node 'MatMul_0' reads the model input directly; the model "
        r"input must be quantized \(Quant or BipolarQuant\) before any other op \(only shape ops and Mul, Add, "
        r"Sub or Div by constants may come before the quantizer, which the host computes\): put a quantizer "
        r"such as brevitas.nn.QuantIdentity before the first layer$",
    ):
        frontend.load(path)


def test_weights_must_be_quantized(tmp_path):
    path = export(FloatWeights().eval(), (4,), tmp_path / "m.onnx", False)
    with pytest.raises(
        UnsupportedOpError,
        match=r"^Gemm node 'Gemm_0': the weight must be quantized by a Quant or "
        r"BipolarQuant op$",
    ):
        frontend.load(path)


def test_per_channel_input_scale_into_a_dot_product(tmp_path):
    nodes = [
        quant("x", "s_in", "xq"),
        quant("w", "s_w", "wq", bits="b4"),
        helper.make_node("MatMul", ["xq", "wq"], ["y"]),
    ]
    inits = {"s_in": [[0.1, 0.2]], "s_w": 0.5, "zp": 0.0, "b8": 8.0, "b4": 4.0, "w": np.ones((2, 3))}
    path = qonnx_graph(tmp_path / "m.onnx", nodes, inits, [1, 2], [1, 3])
    with pytest.raises(
        UnsupportedOpError,
        match=r"^MatMul node 'MatMul_0': the input has a per-channel scale \(from Quant node 'Quant_0'\); a dot "
        r"product that mixes channels needs one scale: use a per-tensor activation scale "
        r"\(scaling_per_output_channel=False\) on the quantizer before it$",
    ):
        frontend.load(path)


def test_activation_bit_width_limit(tmp_path):
    nodes = [quant("x", "s", "y", bits="b17")]
    path = qonnx_graph(tmp_path / "m.onnx", nodes, {"s": 0.1, "zp": 0.0, "b17": 17.0}, [1, 2], [1, 2])
    with pytest.raises(
        UnsupportedOpError,
        match=r"^Quant node 'Quant_0': bit width must be an integer from 1 to 16, "
        r"not array\(17",
    ):
        frontend.load(path)


def test_two_inputs_are_refused(tmp_path):
    nodes = [helper.make_node("Add", ["x", "x2"], ["y"])]
    path = qonnx_graph(tmp_path / "m.onnx", nodes, {}, [1, 2], [1, 2], inputs=("x", "x2"))
    with pytest.raises(ModelError, match=r"^the model must have one input and one output, not 2 and 1$"):
        frontend.load(path)


def test_missing_and_non_onnx_files(tmp_path):
    with pytest.raises(ModelError, match=r"^model file not found: '.*nope\.onnx'$"):
        frontend.load(tmp_path / "nope.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_text("this is not protobuf")
    with pytest.raises(ModelError, match=r"^'.*bad\.onnx' is not an ONNX model \(\w+\)$"):
        frontend.load(bad)


def _external_model(folder, location):
    folder.mkdir(parents=True, exist_ok=True)
    nodes = [quant("x", "s", "y")]
    path = qonnx_graph(folder / "m.onnx", nodes, {"s": 0.1, "zp": 0.0, "b8": 8.0}, [1, 2], [1, 2])
    model = onnx.load(path)
    tensor = next(t for t in model.graph.initializer if t.name == "s")
    tensor.data_location = TensorProto.EXTERNAL
    del tensor.external_data[:]
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", location
    tensor.ClearField("raw_data")
    onnx.save(model, path)
    return path


def test_external_data_may_not_escape_the_model_folder(tmp_path):
    path = _external_model(tmp_path / "inner", "../secret.bin")
    (tmp_path / "secret.bin").write_bytes(np.float32(0.1).tobytes())
    with pytest.raises(
        ModelError,
        match=r"^external data '\.\./secret\.bin' of tensor 's' is outside the model's "
        r"folder$",
    ):
        frontend.load(path)


def test_missing_external_data_file(tmp_path):
    path = _external_model(tmp_path, "weights.bin")
    with pytest.raises(ModelError, match=r"^external data file 'weights\.bin' of tensor 's' not found$"):
        frontend.load(path)


def test_external_data_loads(exported, tmp_path):
    path, shape = exported("cnn", True)
    folder = tmp_path / "copy"
    shutil.copytree(path.rsplit("/", 1)[0], folder)
    assert (folder / "model.onnx.data").is_file(), "the dynamo exporter writes model.onnx.data"
    x = np.random.default_rng(0).normal(size=(8, *shape)).astype(np.float32)
    resaved = tmp_path / "resaved"
    resaved.mkdir()
    model = onnx.load(str(folder / "model.onnx"))
    onnx.save_model(model, str(resaved / "m.onnx"), save_as_external_data=True, location="w.bin", size_threshold=0)
    np.testing.assert_array_equal(
        run(frontend.load(folder / "model.onnx"), x), run(frontend.load(resaved / "m.onnx"), x)
    )


def test_short_external_data_is_refused(tmp_path):
    path = _external_model(tmp_path, "weights.bin")
    (tmp_path / "weights.bin").write_bytes(b"\x00\x00")  # two of the scale's four bytes
    with pytest.raises(ModelError, match=r"^external data of tensor 's' holds 2 bytes; its shape \[\] needs 4$"):
        frontend.load(path)
    model = onnx.load(path, load_external_data=False)
    tensor = next(t for t in model.graph.initializer if t.name == "s")
    entry = tensor.external_data.add()
    entry.key, entry.value = "length", "4"
    onnx.save(model, path)
    with pytest.raises(ModelError, match=r"^external data of the model cannot be read: External data length \(4\)"):
        frontend.load(path)
