"""Fuzzing the frontend in process: mutated small QONNX graphs either lower (and then the golden executor runs)
or raise an FpgaqError - never another exception type.
"""

from __future__ import annotations

import numpy as np
import onnx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

from fpgaq import frontend
from fpgaq.errors import FpgaqError
from fpgaq.ir.execute import run

QDOMAIN = "qonnx.custom_op.general"
NAN, INF = float("nan"), float("inf")


def _quant(x, out, scale, bits, zp="zp", signed=1):
    return helper.make_node(
        "Quant", [x, scale, zp, bits], [out], domain=QDOMAIN, rounding_mode="ROUND", signed=signed, narrow=0
    )


def _graphs():
    """Small valid graphs: (nodes, float initializers, input shape, output shape)."""
    common = {"s": 0.1, "zp": 0.0, "b8": 8.0, "b4": 4.0, "sw": 0.25, "so": 0.2}
    rng = np.random.default_rng(0)
    w = rng.integers(-7, 8, size=(4, 3)).astype(np.float32) * 0.25
    cw = rng.integers(-7, 8, size=(3, 2, 3, 3)).astype(np.float32) * 0.25
    head = [_quant("x", "xq", "s", "b8")]
    return {
        "matmul": (
            [
                *head,
                _quant("w", "wq", "sw", "b4"),
                helper.make_node("MatMul", ["xq", "wq"], ["m"]),
                _quant("m", "y", "so", "b8"),
            ],
            {**common, "w": w},
            [1, 4],
            [1, 3],
        ),
        "gemm": (
            [
                *head,
                _quant("w", "wq", "sw", "b4"),
                helper.make_node("Gemm", ["xq", "wq", "c"], ["g"], alpha=1.0, beta=1.0, transB=0),
                helper.make_node("Mul", ["g", "k"], ["m"]),
                _quant("m", "y", "so", "b8"),
            ],
            {**common, "w": w, "c": np.array([0.1, -0.2, 0.3]), "k": 0.5},
            [1, 4],
            [1, 3],
        ),
        "conv": (
            [
                *head,
                _quant("cw", "cq", "sw", "b4"),
                helper.make_node("Conv", ["xq", "cq"], ["c"], pads=[1, 1, 1, 1], strides=[1, 1], group=1),
                helper.make_node("Relu", ["c"], ["m"]),
                _quant("m", "y", "so", "b4", signed=0),
            ],
            {**common, "cw": cw},
            [1, 2, 5, 5],
            [1, 3, 5, 5],
        ),
        "maxpool": (
            [
                *head,
                helper.make_node("MaxPool", ["xq"], ["m"], kernel_shape=[2, 2], strides=[2, 2]),
                _quant("m", "y", "so", "b8"),
            ],
            common,
            [1, 2, 4, 4],
            [1, 2, 2, 2],
        ),
        "transpose": (
            [*head, helper.make_node("Transpose", ["xq"], ["m"], perm=[0, 2, 1]), _quant("m", "y", "so", "b8")],
            common,
            [1, 2, 3],
            [1, 3, 2],
        ),
        "raw_transpose_flatten": (
            [
                helper.make_node("Transpose", ["x"], ["t"], perm=[0, 2, 1]),
                helper.make_node("Flatten", ["t"], ["f"], axis=1),
                _quant("f", "xq", "s", "b8"),
                _quant("w", "wq", "sw", "b4"),
                helper.make_node("MatMul", ["xq", "wq"], ["m"]),
                _quant("m", "y", "so", "b8"),
            ],
            {**common, "w": w},
            [1, 2, 2],
            [1, 3],
        ),
        "avgpool_trunc_add": (
            [
                *head,
                helper.make_node("AveragePool", ["xq"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
                helper.make_node("Trunc", ["p", "s", "zp", "b10", "b8"], ["t"], domain=QDOMAIN, rounding_mode="FLOOR"),
                _quant("t", "u", "s", "b8"),
                helper.make_node("MaxPool", ["xq"], ["v"], kernel_shape=[2, 2], strides=[2, 2]),
                helper.make_node("Add", ["u", "v"], ["m"]),
                _quant("m", "y", "so", "b8"),
            ],
            {**common, "b10": 10.0},
            [1, 2, 4, 4],
            [1, 2, 2, 2],
        ),
        "batchnorm": (
            [
                *head,
                helper.make_node("BatchNormalization", ["xq", "g", "b", "mu", "var"], ["n"], epsilon=1e-5),
                helper.make_node("Relu", ["n"], ["m"]),
                _quant("m", "y", "so", "b8"),
            ],
            {**common, "g": [1.0, -0.5], "b": [0.1, 0.0], "mu": [0.0, 0.2], "var": [1.0, 0.5]},
            [1, 2, 4],
            [1, 2, 4],
        ),
    }


GRAPHS = _graphs()
ODD_NUMBERS = [NAN, INF, -INF, 0.0, -1.0, 65.0, 2.5, 1e-40, 1e38, 17.0, 33.0, 1.0, 3.0, 0.5, 1e30]
ODD_ATTRIBUTES = [
    0,
    1,
    2,
    -1,
    3,
    0.5,
    NAN,
    INF,
    "ROUND",
    "FLOOR",
    "nonsense",
    b"\xff",
    [0, 0],
    [1, 2, 3],
    [0, 1, 5],
    [],
]
ATTRIBUTE_NAMES = [
    "signed", "narrow", "rounding_mode", "perm", "kernel_shape", "strides", "pads", "dilations", "group",
    "alpha", "beta", "transA", "transB", "epsilon", "axis", "auto_pad", "ceil_mode",
]  # fmt: skip

mutation = st.one_of(
    st.tuples(st.just("number"), st.integers(0, 40), st.sampled_from(ODD_NUMBERS)),
    st.tuples(
        st.just("attribute"), st.integers(0, 40), st.sampled_from(ATTRIBUTE_NAMES), st.sampled_from(ODD_ATTRIBUTES)
    ),
    st.tuples(st.just("drop attribute"), st.integers(0, 40), st.integers(0, 40)),
    st.tuples(st.just("input dim"), st.integers(0, 4), st.sampled_from([0, -1, 1, 2, 3, 7])),
    st.tuples(st.just("drop input"), st.integers(0, 40), st.integers(0, 5), st.booleans()),
    st.tuples(st.just("duplicate name"), st.integers(0, 40), st.integers(0, 80)),
    st.tuples(st.just("reshape constant"), st.integers(0, 40), st.sampled_from([(0,), (1,), (2, 2), (3, 1, 1), (5,)])),
    st.tuples(st.just("constant type"), st.integers(0, 40), st.sampled_from(["int64", "float16", "bool", "float64"])),
    st.tuples(
        st.just("op type"),
        st.integers(0, 40),
        st.sampled_from(["Relu", "Quant", "Trunc", "MatMul", "Concat", "Transpose"]),
    ),
    st.tuples(st.just("extra output"), st.integers(0, 40), st.booleans()),
)


def _apply(model: onnx.ModelProto, change) -> None:
    graph = model.graph
    kind, *args = change
    if kind == "number":
        tensor = graph.initializer[args[0] % len(graph.initializer)]
        values = numpy_helper.to_array(tensor).astype(np.float32).copy()
        values.reshape(-1)[: min(1, values.size)] = args[1]
        tensor.CopyFrom(numpy_helper.from_array(values, tensor.name))
    elif kind == "attribute":
        node = graph.node[args[0] % len(graph.node)]
        for a in [a for a in node.attribute if a.name == args[1]]:
            node.attribute.remove(a)
        empty = onnx.AttributeProto.INTS if isinstance(args[2], list) and not args[2] else None
        node.attribute.append(helper.make_attribute(args[1], args[2], attr_type=empty))
    elif kind == "drop attribute":
        node = graph.node[args[0] % len(graph.node)]
        if node.attribute:
            del node.attribute[args[1] % len(node.attribute)]
    elif kind == "input dim":
        dims = graph.input[0].type.tensor_type.shape.dim
        dims[args[0] % len(dims)].dim_value = args[1]
    elif kind == "drop input":
        node = graph.node[args[0] % len(graph.node)]
        if node.input:
            index = args[1] % len(node.input)
            if args[2]:
                del node.input[index:]
            else:
                node.input[index] = ""
    elif kind == "duplicate name":
        node = graph.node[args[0] % len(graph.node)]
        names = (
            [i.name for i in graph.input]
            + [t.name for t in graph.initializer]
            + [o for n in graph.node for o in n.output]
        )
        node.output[0] = names[args[1] % len(names)]
    elif kind == "constant type":
        tensor = graph.initializer[args[0] % len(graph.initializer)]
        values = numpy_helper.to_array(tensor).astype(args[1])
        tensor.CopyFrom(numpy_helper.from_array(values, tensor.name))
    elif kind == "op type":
        node = graph.node[args[0] % len(graph.node)]
        node.op_type = args[1]
        node.domain = QDOMAIN if args[1] in ("Quant", "Trunc") else ""
    elif kind == "extra output":
        node = graph.node[args[0] % len(graph.node)]
        node.output.append(f"{node.output[0]}_extra")
        if args[1]:
            graph.node[-1].input.append(node.output[-1])
    elif kind == "reshape constant":
        tensor = graph.initializer[args[0] % len(graph.initializer)]
        tensor.CopyFrom(numpy_helper.from_array(np.full(args[1], 0.5, dtype=np.float32), tensor.name))


@settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.sampled_from(sorted(GRAPHS)),
    st.lists(mutation, min_size=0, max_size=3),
    st.sampled_from([None, None, None, 0.1, 0.5, 0.9, 0.99, 0.999]),  # truncate the file's bytes
)
def test_mutated_graphs_lower_or_raise_fpgaq_errors(tmp_path, name, changes, cut):
    nodes, inits, in_shape, out_shape = GRAPHS[name]
    tensors = [numpy_helper.from_array(np.asarray(v, dtype=np.float32), k) for k, v in inits.items()]
    graph = helper.make_graph(
        [onnx.NodeProto.FromString(n.SerializeToString()) for n in nodes],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
        tensors,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(QDOMAIN, 1)])
    for change in changes:
        _apply(model, change)
    data = model.SerializeToString()
    if cut is not None:
        data = data[: int(len(data) * cut)]
    path = tmp_path / "m.onnx"
    path.write_bytes(data)
    try:
        lowered = frontend.load(path)
    except FpgaqError as exc:
        assert "\n" not in str(exc) and str(exc)
        return
    shape = lowered.tensors[lowered.input.tensor].shape
    for seed in range(3):
        x = np.random.default_rng(seed).normal(0.0, 2.0, size=(4, *shape)).astype(np.float32)
        assert run(lowered, x).shape[0] == 4
