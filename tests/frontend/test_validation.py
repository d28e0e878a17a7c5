"""Malformed and hostile QONNX graphs: each class of bad input ends in one pinned ModelError naming node and value.

Every case is a small hand-made graph (onnx.helper); the message is matched by an anchored regex.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from fpgaq import frontend
from fpgaq.errors import FpgaqError, ModelError, UnsupportedOpError
from fpgaq.ir import graph as ir
from fpgaq.ir.execute import execute
from fpgaq.ir.types import MAX_INT_BITS

QDOMAIN = "qonnx.custom_op.general"
NAN, INF = float("nan"), float("inf")
BASE = {"s": 0.1, "zp": 0.0, "b8": 8.0, "b4": 4.0, "sw": 0.5, "so": 0.2, "w": np.ones((4, 3))}


def model(nodes, inits, in_shape=(1, 4), out_shape=(1, 3), in_type=TensorProto.FLOAT, ints=()):
    """A QONNX ModelProto: input x, output y, float initializers (int64 for the names in `ints`)."""
    tensors = [
        numpy_helper.from_array(np.asarray(v, dtype=np.int64 if k in ints else np.float32), k) for k, v in inits.items()
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", in_type, list(in_shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(out_shape))],
        tensors,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(QDOMAIN, 1)])


def q(x, out, scale="s", bits="b8", zp="zp", inputs=None, **attrs):
    """A Quant node (ROUND, signed, not narrow unless overridden)."""
    attrs = {"rounding_mode": "ROUND", "signed": 1, "narrow": 0, **attrs}
    return helper.make_node("Quant", inputs or [x, scale, zp, bits], [out], domain=QDOMAIN, **attrs)


def dense(node=None, **inits):
    """x -> Quant -> MatMul (Quant weight) -> Quant -> y; `node` replaces the MatMul."""
    node = node or helper.make_node("MatMul", ["xq", "wq"], ["m"])
    nodes = [q("x", "xq"), q("w", "wq", scale="sw", bits="b4"), node, q("m", "y", scale="so")]
    return model(nodes, {**BASE, **inits})


def around(node, in_shape, out_shape, **inits):
    """x -> Quant -> node (reads xq, writes m) -> Quant -> y."""
    return model([q("x", "xq"), node, q("m", "y", scale="so")], {**BASE, **inits}, in_shape, out_shape)


def quant_only(in_shape=(1, 4), **attrs):
    return model([q("x", "y", **attrs)], BASE, in_shape, in_shape)


def conv(**attrs):
    node = helper.make_node("Conv", ["xq", "cq"], ["m"], **attrs)
    nodes = [q("x", "xq"), q("cw", "cq", scale="sw", bits="b4"), node, q("m", "y", scale="so")]
    return model(nodes, {**BASE, "cw": np.ones((4, 2, 3, 3))}, (1, 2, 6, 6), (1, 4, 4, 4))


def pool(op="MaxPool", **attrs):
    return around(helper.make_node(op, ["xq"], ["m"], **attrs), (1, 2, 4, 4), (1, 2, 2, 2))


def batchnorm(var=(1.0, 1.0), **attrs):
    node = helper.make_node("BatchNormalization", ["xq", "g", "b", "mu", "var"], ["m"], **attrs)
    params = {"g": np.ones(2), "b": np.zeros(2), "mu": np.zeros(2), "var": np.array(var)}
    return around(node, (1, 2, 4), (1, 2, 4), **params)


def graph_edit(edit):
    """The dense model with `edit(graph)` applied to its proto."""
    proto = dense()
    edit(proto.graph)
    return proto


def _dup_node_output(g):
    g.node.insert(1, helper.make_node("Relu", ["xq"], ["wq"], name="r"))


def _output_is_initializer(g):
    g.node.insert(1, helper.make_node("Relu", ["xq"], ["s"], name="r"))


def _output_is_input(g):
    g.node.insert(1, helper.make_node("Relu", ["xq"], ["x"], name="r"))


def _two_initializers(g):
    g.initializer.append(numpy_helper.from_array(np.float32(0.3), "s"))


def _dangling(g):
    g.node[2].input[0] = "nowhere"


def _wide_accumulator():
    """16-bit input, 31-bit weight codes and K = 2**16: the accumulator needs 63 bits."""
    inits = {**BASE, "b16": 16.0, "b32": 32.0, "sw": 1e-9, "w": np.full((1 << 16, 2), 2.0)}
    nodes = [
        q("x", "xq", bits="b16"),
        q("w", "wq", scale="sw", bits="b32"),
        helper.make_node("MatMul", ["xq", "wq"], ["m"]),
    ]
    return model([*nodes, q("m", "y", scale="so")], inits, (1, 1 << 16), (1, 2))


def _wide_integer_bias():
    """An Int32Bias-like quantized bias whose integer code does not fit 62 bits."""
    nodes = [
        q("x", "xq"),
        q("w", "wq", scale="sw", bits="b4"),
        q("bias", "bq", scale="sb", bits="b32"),
        helper.make_node("Gemm", ["xq", "wq", "bq"], ["m"]),
        q("m", "y", scale="so"),
    ]
    return model(nodes, {**BASE, "bias": np.full(3, 1e30), "sb": 1e22, "b32": 32.0})


E = "ModelError"
U = "UnsupportedOpError"
CASES = {
    # 1. zero-size and non-float inputs
    "zero size input": (
        lambda: quant_only((1, 0)),
        E,
        r"the model input 'x' has shape \[1, 0\]; every axis after the batch axis must have a positive static size",
    ),
    "negative size input": (lambda: quant_only((1, -3)), E, r"the model input 'x' has shape \[1, -3\]; .*"),
    "int input": (
        lambda: model([q("x", "y")], BASE, in_type=TensorProto.INT64, out_shape=(1, 4)),
        E,
        r"the model input 'x' is of type INT64; fpgaq needs a FLOAT input",
    ),
    "zero size weight": (lambda: dense(w=np.ones((4, 0))), E, r"Quant node 'Quant_1': the quantized constant is empty"),
    # 2. NaN / infinity in every float read from the file
    "bit width nan": (lambda: dense(b8=NAN), E, r"Quant node 'Quant_0': bit width must be finite, not nan"),
    "bit width inf": (lambda: dense(b8=INF), E, r"Quant node 'Quant_0': bit width must be finite, not inf"),
    "bit width 0": (
        lambda: dense(b8=0.0),
        U,
        r"Quant node 'Quant_0': bit width must be an integer from 1 to 16, not array\(0\., dtype=float32\)",
    ),
    "bit width 2.5": (
        lambda: dense(b4=2.5),
        U,
        r"Quant node 'Quant_1': bit width must be an integer from 1 to 32, .*2\.5.*",
    ),
    "bit width 65": (
        lambda: dense(b4=65.0),
        U,
        r"Quant node 'Quant_1': bit width must be an integer from 1 to 32, .*65.*",
    ),
    "zero point nan": (lambda: dense(zp=NAN), E, r"Quant node 'Quant_0': zero point must be finite, not nan"),
    "zero point inf": (lambda: dense(zp=INF), E, r"Quant node 'Quant_0': zero point must be finite, not inf"),
    "scale nan": (lambda: dense(s=NAN), E, r"Quant node 'Quant_0': scale must be finite, not nan"),
    "scale 0": (lambda: dense(s=0.0), U, r"Quant node 'Quant_0': quantization scale must be positive and finite"),
    "scale -1": (lambda: dense(so=-1.0), U, r"Quant node 'Quant_2': quantization scale must be positive and finite"),
    "weight scale inf": (lambda: dense(sw=INF), E, r"Quant node 'Quant_1': scale must be finite, not inf"),
    "weight nan": (
        lambda: dense(w=np.full((4, 3), NAN)),
        E,
        r"Quant node 'Quant_1': the quantized constant must be finite, not nan",
    ),
    "weight overflows float32": (
        lambda: dense(sw=2e38, b4=16.0, w=np.full((4, 3), 3e38)),
        U,
        r"Quant node 'Quant_1': the quantized values overflow float32 \(the scale is too large\)",
    ),
    "weight zero point too large": (
        lambda: model(
            [
                q("x", "xq"),
                q("w", "wq", scale="sw", bits="b4", zp="zw"),
                helper.make_node("MatMul", ["xq", "wq"], ["m"]),
                q("m", "y", scale="so"),
            ],
            {**BASE, "zw": 1e30},
        ),
        U,
        r"Quant node 'Quant_1': the zero point is too large for exact integer weights",
    ),
    "gemm alpha nan": (
        lambda: dense(helper.make_node("Gemm", ["xq", "wq"], ["m"], alpha=NAN)),
        E,
        r"Gemm node 'Gemm_0': attribute alpha must be finite, not nan",
    ),
    "gemm beta inf": (
        lambda: dense(helper.make_node("Gemm", ["xq", "wq", "c"], ["m"], beta=INF), c=np.ones(3)),
        E,
        r"Gemm node 'Gemm_0': attribute beta must be finite, not inf",
    ),
    "gemm bias nan": (
        lambda: dense(helper.make_node("Gemm", ["xq", "wq", "c"], ["m"]), c=np.full(3, NAN)),
        E,
        r"Gemm node 'Gemm_0': the bias must be finite, not nan",
    ),
    "conv bias inf": (
        lambda: model(
            [
                q("x", "xq"),
                q("cw", "cq", scale="sw", bits="b4"),
                helper.make_node("Conv", ["xq", "cq", "cb"], ["m"]),
                q("m", "y", scale="so"),
            ],
            {**BASE, "cw": np.ones((4, 2, 3, 3)), "cb": np.full(4, INF)},
            (1, 2, 6, 6),
            (1, 4, 4, 4),
        ),
        E,
        r"Conv node 'Conv_0': the bias must be finite, not inf",
    ),
    "batchnorm epsilon nan": (
        lambda: batchnorm(epsilon=NAN),
        E,
        r"BatchNormalization node 'BatchNormalization_0': attribute epsilon must be finite, not nan",
    ),
    "batchnorm var nan": (
        lambda: batchnorm(var=(1.0, NAN)),
        E,
        r"BatchNormalization node 'BatchNormalization_0': var must be finite, not nan",
    ),
    "clip min nan": (
        lambda: around(helper.make_node("Clip", ["xq", "lo"], ["m"]), (1, 4), (1, 4), lo=NAN),
        E,
        r"Clip node 'Clip_0': min must be finite, not nan",
    ),
    "clip min above max": (
        lambda: around(helper.make_node("Clip", ["xq", "lo", "hi"], ["m"]), (1, 4), (1, 4), lo=2.0, hi=1.0),
        U,
        r"Clip node 'Clip_0': min 2\.0 is greater than max 1\.0",
    ),
    "mul inf": (
        lambda: around(helper.make_node("Mul", ["xq", "c"], ["m"]), (1, 4), (1, 4), c=INF),
        E,
        r"Mul node 'Mul_0': the constant must be finite, not inf",
    ),
    "add nan": (
        lambda: around(helper.make_node("Add", ["xq", "c"], ["m"]), (1, 4), (1, 4), c=np.full(4, NAN)),
        E,
        r"Add node 'Add_0': the constant must be finite, not nan",
    ),
    "mul grows the batch": (
        lambda: around(helper.make_node("Mul", ["xq", "c"], ["m"]), (1, 4), (4, 4), c=np.ones((4, 1))),
        U,
        r"Mul node 'Mul_0': parameters may not vary along the batch axis",
    ),
    "mul grows the tensor": (
        lambda: around(helper.make_node("Mul", ["xq", "c"], ["m"]), (1, 4), (2, 1, 4), c=np.ones((2, 1, 1))),
        U,
        r"Mul node 'Mul_0': the constant of shape \(2, 1, 1\) does not fit the tensor of shape \(1, 4\)",
    ),
    "trunc scale 0": (
        lambda: around(
            helper.make_node("Trunc", ["xq", "z0", "zp", "b8", "b4"], ["m"], domain=QDOMAIN), (1, 4), (1, 4), z0=0.0
        ),
        U,
        r"Trunc node 'Trunc_0': quantization scale must be positive and finite",
    ),
    "trunc bits 64": (
        lambda: around(
            helper.make_node("Trunc", ["xq", "s", "zp", "b64", "b4"], ["m"], domain=QDOMAIN), (1, 4), (1, 4), b64=64.0
        ),
        U,
        r"Trunc node 'Trunc_0': input bit width must be an integer from 1 to 62, not array\(64\., dtype=float32\)",
    ),
    # 3. input counts (qonnx's ops before qonnx's cleanup, so the file's node names; unnamed: by index)
    "quant with 2 inputs": (
        lambda: model([q("x", "y", inputs=["x", "s"])], BASE, out_shape=(1, 4)),
        E,
        r"Quant node #0: Quant takes 4 inputs, not 2",
    ),
    "quant with an empty input": (
        lambda: model([q("x", "y", inputs=["x", "s", "", "b8"])], BASE, out_shape=(1, 4)),
        E,
        r"Quant node #0: its required input 2 is empty",
    ),
    "trunc with 3 inputs": (
        lambda: around(helper.make_node("Trunc", ["xq", "s", "zp"], ["m"], domain=QDOMAIN), (1, 4), (1, 4)),
        E,
        r"Trunc node #1: Trunc takes 5 or 6 inputs, not 3",
    ),
    "bipolar quant with 1 input": (
        lambda: model([helper.make_node("BipolarQuant", ["x"], ["y"], domain=QDOMAIN)], BASE, out_shape=(1, 4)),
        E,
        r"BipolarQuant node #0: BipolarQuant takes 2 inputs, not 1",
    ),
    "relu with 2 inputs": (
        lambda: around(helper.make_node("Relu", ["xq", "s"], ["m"]), (1, 4), (1, 4)),
        E,
        r"Relu node '' is not valid ONNX: Node with schema\(::Relu:13\) has input size 2 not in range "
        r"\[min=1, max=1\]\.",
    ),
    # 4. window attributes
    "maxpool without kernel_shape": (
        lambda: pool(),
        E,
        r"MaxPool node '' is not valid ONNX: Required attribute 'kernel_shape' is missing\.",
    ),
    "maxpool kernel of wrong length": (
        lambda: pool(kernel_shape=[2]),
        E,
        r"MaxPool node 'MaxPool_0': kernel_shape must be 2 positive integers for an input of shape "
        r"\(1, 2, 4, 4\), not \[2\]",
    ),
    "maxpool stride 0": (
        lambda: pool(kernel_shape=[2, 2], strides=[0, 2]),
        E,
        r"MaxPool node 'MaxPool_0': strides must be 2 positive integers, not \[0, 2\]",
    ),
    "maxpool negative pad": (
        lambda: pool(kernel_shape=[2, 2], pads=[0, -1, 0, 0]),
        E,
        r"MaxPool node 'MaxPool_0': pads must be 4 non-negative integers, not \[0, -1, 0, 0\]",
    ),
    "maxpool pad as wide as the kernel": (
        lambda: pool(kernel_shape=[2, 2], pads=[2, 0, 0, 0]),
        E,
        r"MaxPool node 'MaxPool_0': pads \[2, 0, 0, 0\] must be smaller than the kernel \[2, 2\]",
    ),
    "averagepool without kernel_shape": (
        lambda: pool("AveragePool"),
        E,
        r"AveragePool node '' is not valid ONNX: Required attribute 'kernel_shape' is missing\.",
    ),
    "averagepool dilation 0": (
        lambda: pool("MaxPool", kernel_shape=[2, 2], dilations=[1, 0]),
        E,
        r"MaxPool node 'MaxPool_0': dilations must be 2 positive integers, not \[1, 0\]",
    ),
    "conv stride 0": (
        lambda: conv(strides=[1, 0]),
        E,
        r"Conv node 'Conv_0': strides must be 2 positive integers, not \[1, 0\]",
    ),
    "conv pads of wrong length": (
        lambda: conv(pads=[1, 1]),
        E,
        r"Conv node 'Conv_0': pads must be 4 non-negative integers, not \[1, 1\]",
    ),
    "conv group not dividing": (
        lambda: conv(group=3),
        E,
        r"Conv node 'Conv_0': group 3 does not fit 2 input channels and weights of shape \(4, 2, 3, 3\)",
    ),
    "conv group 0": (
        lambda: conv(group=0),
        E,
        r"Conv node 'Conv_0': group 0 does not fit 2 input channels and weights of shape \(4, 2, 3, 3\)",
    ),
    "conv kernel_shape mismatch": (
        lambda: conv(kernel_shape=[2, 2]),
        E,
        r"Conv node 'Conv_0': kernel_shape \[2, 2\] does not match the weight's \[3, 3\]",
    ),
    "conv dilated window larger than the input": (  # qonnx's shape inference fails first
        lambda: conv(dilations=[4, 4]),
        E,
        r"qonnx could not clean up '.*m\.onnx': negative dimensions are not allowed",
    ),
    # 5. Transpose perm
    "transpose perm out of range": (
        lambda: around(helper.make_node("Transpose", ["xq"], ["m"], perm=[0, 2, 5]), (1, 2, 4), (1, 4, 2)),
        E,
        r"Transpose node 'Transpose_0': perm \[0, 2, 5\] is not a permutation of 0\.\.2 \(the input has 3 axes\)",
    ),
    "transpose perm repeated": (
        lambda: around(helper.make_node("Transpose", ["xq"], ["m"], perm=[0, 1, 1]), (1, 2, 4), (1, 4, 2)),
        E,
        r"Transpose node 'Transpose_0': perm \[0, 1, 1\] is not a permutation of 0\.\.2 \(the input has 3 axes\)",
    ),
    "unsqueeze of the batch axis": (
        lambda: model(
            [q("x", "xq"), helper.make_node("Unsqueeze", ["xq", "ax"], ["m"]), q("m", "y", scale="so")],
            {**BASE, "ax": [0]},
            out_shape=(1, 1, 4),
            ints=("ax",),
        ),
        U,
        r"Unsqueeze node 'Unsqueeze_0': axes \[0\] include the batch axis",
    ),
    # 6. batch norm variance
    "batchnorm negative variance": (
        lambda: batchnorm(var=(1.0, -2.0)),
        U,
        r"BatchNormalization node 'BatchNormalization_0': var \+ epsilon must be positive, "
        r"not -1\.99999\d* \(channel 1\)",
    ),
    "batchnorm parameter of wrong size": (
        lambda: around(
            helper.make_node("BatchNormalization", ["xq", "g", "b", "mu", "var"], ["m"]),
            (1, 2, 4),
            (1, 2, 4),
            g=np.ones(3),
            b=np.zeros(2),
            mu=np.zeros(2),
            var=np.ones(2),
        ),
        U,
        r"BatchNormalization node 'BatchNormalization_0': scale has shape \(3,\), not \(2,\) for the channels",
    ),
    # 7. attribute types and values
    "rounding_mode an int": (
        lambda: quant_only(rounding_mode=3),
        E,
        r"Quant node 'Quant_0': attribute rounding_mode must be a string, not 3",
    ),
    "rounding_mode unknown": (
        lambda: quant_only(rounding_mode="NEAREST"),
        U,
        r"Quant node 'Quant_0': unknown rounding mode 'NEAREST'; supported: ROUND, .*",
    ),
    "signed 2": (lambda: quant_only(signed=2), U, r"Quant node 'Quant_0': attribute signed must be 0 or 1, not 2"),
    "signed a string": (
        lambda: quant_only(signed="yes"),
        E,
        r"Quant node 'Quant_0': attribute signed must be an integer, not 'yes'",
    ),
    "narrow a float": (
        lambda: quant_only(narrow=0.5),
        E,
        r"Quant node 'Quant_0': attribute narrow must be an integer, not 0\.5",
    ),
    "transB 2": (
        lambda: dense(helper.make_node("Gemm", ["xq", "wq"], ["m"], transB=2)),
        U,
        r"Gemm node 'Gemm_0': attribute transB must be 0 or 1, not 2",
    ),
    # 8. names: duplicates, dangling inputs
    "two nodes write one tensor": (
        lambda: graph_edit(_dup_node_output),
        E,
        r"tensor 'wq' is defined twice: as the output of Relu node 'r' and as the output of Quant node #2",
    ),
    "a node writes an initializer": (
        lambda: graph_edit(_output_is_initializer),
        E,
        r"tensor 's' is defined twice: as an initializer and as the output of Relu node 'r'",
    ),
    "a node writes the graph input": (
        lambda: graph_edit(_output_is_input),
        E,
        r"tensor 'x' is defined twice: as a graph input and as the output of Relu node 'r'",
    ),
    "two initializers with one name": (
        lambda: graph_edit(_two_initializers),
        E,
        r"tensor 's' is defined twice: as an initializer and as an initializer",
    ),
    "a node reads a tensor nothing writes": (
        lambda: graph_edit(_dangling),
        E,
        r"MatMul node #2 reads tensor 'nowhere', which no graph input, initializer or earlier node writes",
    ),
    # 9. integers wider than MAX_INT_BITS
    "accumulator wider than 62 bits": (
        _wide_accumulator,
        U,
        r"MatMul node 'MatMul_0': its Dense accumulator needs 63 bits; fpgaq carries integers of at most 62 bits "
        r"\(narrow the weights, the input or the bias\)",
    ),
    "integer bias wider than 62 bits": (
        _wide_integer_bias,
        U,
        r"Gemm node 'Gemm_0': its integer bias needs \d+ bits; fpgaq carries integers of at most 62 bits "
        r"\(narrow the bias or widen its scale\)",
    ),
}
KINDS = {"ModelError": ModelError, "UnsupportedOpError": UnsupportedOpError}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_graph_is_refused_with_a_pinned_message(tmp_path, case):
    build, kind, message = CASES[case]
    path = tmp_path / "m.onnx"
    onnx.save(build(), str(path))
    with pytest.raises(KINDS[kind], match=f"^{message}$"):
        frontend.load(path)


def test_max_int_bits_keeps_negation_and_successor_in_int64():
    top = (1 << (MAX_INT_BITS - 1)) - 1, (1 << MAX_INT_BITS) - 1  # largest signed and unsigned value
    assert all(-v >= np.iinfo(np.int64).min and v + 1 <= np.iinfo(np.int64).max for v in top)
    assert MAX_INT_BITS == 62


def test_a_wide_accepted_accumulator_runs_exactly(tmp_path):
    """A 58-bit accumulator (K = 2**12, 16-bit input, 30-bit weight codes): accepted, and the int64 executor is
    exact where float64 is not (its values exceed 2**53)."""
    inits = {**BASE, "b16": 16.0, "b32": 32.0, "sw": 1e-9, "w": np.ones((1 << 12, 2))}
    nodes = [
        q("x", "xq", bits="b16"),
        q("w", "wq", scale="sw", bits="b32"),
        helper.make_node("MatMul", ["xq", "wq"], ["y"]),
    ]
    path = tmp_path / "m.onnx"
    onnx.save(model(nodes, inits, (1, 1 << 12), (1, 2)), str(path))
    graph = frontend.load(path)
    dense_node = next(n for n in graph.nodes if isinstance(n, ir.Dense))
    assert graph.tensors[dense_node.output].dtype.bits <= MAX_INT_BITS
    codes = np.full((1, 1 << 12), 32767, dtype=np.int64)
    got = execute(graph, codes)[dense_node.output]
    expect = [32767 * sum(int(w) for w in row) for row in dense_node.weight.tolist()]
    assert min(expect) > 2**53
    np.testing.assert_array_equal(got, np.array([expect], dtype=np.int64))


def test_fpgaq_errors_are_one_line(tmp_path):
    for build, _, _ in CASES.values():
        path = tmp_path / "m.onnx"
        onnx.save(build(), str(path))
        with pytest.raises(FpgaqError) as info:
            frontend.load(path)
        assert "\n" not in str(info.value)
