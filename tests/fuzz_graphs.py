"""Hypothesis strategies for the fuzz suites: small valid QONNX graphs, and hostile mutations of ONNX files.

`qonnx_graphs()` draws a model that fpgaq must build exactly: an input Quant (random bits, sign, narrow,
rounding, scale), then dense or convolutional layers with quantized weights (per-tensor or per-channel
scales, quantized or float biases), batch norms, Relu, Mul by constants, pooling, reshapes, and activation
Quants, with a quantized or float output. `mutations()` draws a change that breaks a file in one of the ways
users and attackers do: dims, attributes, bit widths, scales, names, external data, truncation.
"""

from __future__ import annotations

import numpy as np
import onnx
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

QDOMAIN = "qonnx.custom_op.general"
ROUNDING = ("ROUND", "FLOOR", "CEIL", "ROUND_TO_ZERO", "HALF_UP", "HALF_DOWN", "UP")


class Builder:
    """Accumulates nodes and initializers of one graph; names are unique by construction."""

    def __init__(self):
        self.nodes, self.inits, self.count = [], {}, 0

    def name(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def const(self, value, prefix="c") -> str:
        name = self.name(prefix)
        self.inits[name] = np.asarray(value, dtype=np.float32)
        return name

    def node(self, op: str, inputs, domain: str = "", **attrs) -> str:
        out = self.name("t")
        self.nodes.append(helper.make_node(op, list(inputs), [out], name=self.name(op), domain=domain, **attrs))
        return out

    def quant(self, x, scale, zero_point, bits, signed=True, narrow=False, rounding="ROUND") -> str:
        inputs = [x, self.const(scale, "s"), self.const(zero_point, "z"), self.const(float(bits), "b")]
        return self.node("Quant", inputs, QDOMAIN, rounding_mode=rounding, signed=int(signed), narrow=int(narrow))

    def model(self, x_shape, out: str, out_shape) -> onnx.ModelProto:
        inits = [numpy_helper.from_array(v, k) for k, v in self.inits.items()]
        graph = helper.make_graph(
            self.nodes,
            "fuzz",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, *x_shape])],
            [helper.make_tensor_value_info(out, TensorProto.FLOAT, [1, *out_shape])],
            inits,
        )
        opsets = [helper.make_opsetid("", 13), helper.make_opsetid(QDOMAIN, 1)]
        return helper.make_model(graph, opset_imports=opsets, ir_version=8)


def _scale(draw, per_channel: int | None = None):
    """A float32 scale (or one per channel) spanning a wide dynamic range, never a power of two by intent."""
    shape = () if per_channel is None else (per_channel,)
    n = per_channel or 1
    mantissa = draw(st.lists(st.floats(1.0, 2.0, width=32), min_size=n, max_size=n))
    exponent = draw(st.integers(-9, 2))
    return (np.asarray(mantissa, np.float32).reshape(shape) * np.float32(2.0**exponent)).astype(np.float32)


def _activation(draw, b: Builder, x: str, zero_point_ok: bool = True) -> str:
    bits = draw(st.integers(2, 8))
    signed = draw(st.booleans())
    narrow = signed and draw(st.booleans())
    zp = float(draw(st.integers(-2, 2))) if zero_point_ok and not signed else 0.0
    return b.quant(x, _scale(draw), zp, bits, signed, narrow, draw(st.sampled_from(ROUNDING)))


def _weights(draw, b: Builder, shape, axis: int) -> str:
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    bits = draw(st.integers(2, 8))
    per_channel = draw(st.booleans())
    scale = _scale(draw, shape[axis] if per_channel else None)
    if per_channel:
        scale = scale.reshape([-1 if i == axis else 1 for i in range(len(shape))])
    w = rng.normal(0, 1, size=shape).astype(np.float32) * np.abs(scale).max() * 2 ** (bits - 2)
    return b.quant(b.const(w, "w"), scale, 0.0, bits, True, draw(st.booleans()), "ROUND")


def _bias(draw, b: Builder, n: int):
    kind = draw(st.sampled_from(["none", "float"]))
    if kind == "none":
        return None
    return b.const(np.random.default_rng(n).normal(0, 0.5, n), "bias")


def _pointwise(draw, b: Builder, x: str, channels: int, rank: int) -> str:
    """Float ops an activation Quant absorbs: batch norm, Relu, Mul/Add by constants, in random order."""
    shape = [channels] + [1] * (rank - 2)
    for op in draw(st.lists(st.sampled_from(["bn", "relu", "mul", "add"]), max_size=2, unique=True)):
        if op == "bn" and rank >= 2:
            rng = np.random.default_rng(channels)
            gamma = rng.uniform(0.5, 1.5, channels) * np.where(rng.uniform(size=channels) < 0.3, -1, 1)
            params = [gamma, rng.normal(0, 0.3, channels), rng.normal(0, 0.3, channels), rng.uniform(0.5, 2, channels)]
            x = b.node("BatchNormalization", [x] + [b.const(p) for p in params], epsilon=1e-5)
        elif op == "relu":
            x = b.node("Relu", [x])
        elif op == "mul":
            x = b.node("Mul", [x, b.const(np.full(shape, draw(st.sampled_from([-0.75, 0.3, 1.7])), np.float32))])
        elif op == "add":
            x = b.node("Add", [x, b.const(np.full(shape, draw(st.sampled_from([-0.4, 0.25])), np.float32))])
    return x


@st.composite
def qonnx_graphs(draw):
    """(onnx.ModelProto, per-sample input shape) of a small model fpgaq must build exactly."""
    b = Builder()
    if draw(st.booleans()):
        features = draw(st.integers(1, 10))
        x_shape = (features,)
        x = _activation(draw, b, "x")
        channels = features
        rank = 2
    else:
        c, h, w = draw(st.integers(1, 3)), draw(st.integers(2, 6)), draw(st.integers(2, 6))
        x_shape = (c, h, w)
        x = _activation(draw, b, "x", zero_point_ok=False)
        k = draw(st.integers(1, min(3, h, w)))
        depthwise = c > 1 and draw(st.booleans())
        out_c = c * draw(st.integers(1, 2)) if depthwise else draw(st.integers(1, 4))
        group = c if depthwise else 1
        pads = [draw(st.integers(0, 1))] * 4
        stride = draw(st.integers(1, 2))
        x = b.node(
            "Conv",
            [x, _weights(draw, b, (out_c, c // group, k, k), 0)],
            kernel_shape=[k, k],
            strides=[stride, stride],
            pads=pads,
            group=group,
        )
        oh, ow = (h + 2 * pads[0] - k) // stride + 1, (w + 2 * pads[0] - k) // stride + 1
        x = _pointwise(draw, b, x, out_c, 4)
        x = _activation(draw, b, x, zero_point_ok=False)
        if oh >= 2 and ow >= 2 and draw(st.booleans()):
            x = b.node("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2])
            oh, ow = oh // 2, ow // 2
        x = b.node("Flatten", [x], axis=1)
        channels, rank = out_c * oh * ow, 2
    for _ in range(draw(st.integers(1, 2))):
        out_f = draw(st.integers(1, 8))
        if draw(st.booleans()):
            inputs = [x, _weights(draw, b, (out_f, channels), 0)]
            bias = _bias(draw, b, out_f)
            x = b.node("Gemm", inputs + ([bias] if bias else []), transB=1)
        else:
            x = b.node("MatMul", [x, _weights(draw, b, (channels, out_f), 1)])
        channels = out_f
        x = _pointwise(draw, b, x, channels, rank)
        if draw(st.booleans()):
            x = _activation(draw, b, x)
        else:
            break  # a float output: the last layer's scale, bias and pending ops go to the host
    return b.model(x_shape, x, (channels,)), x_shape


# ---- mutations of an existing file ------------------------------------------------------------------------

MUTATIONS = (
    "dim",
    "attribute_value",
    "attribute_type",
    "bit_width",
    "scale",
    "zero_point",
    "duplicate_name",
    "hostile_name",
    "drop_input",
    "external_data",
    "truncate",
)


@st.composite
def mutations(draw, model: onnx.ModelProto):
    """(kind, bytes of the mutated model, extra files {name: bytes}) for one hostile change of `model`."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    kind = draw(st.sampled_from(MUTATIONS))
    extra: dict[str, bytes] = {}
    nodes = list(m.graph.node)
    inits = list(m.graph.initializer)
    node = nodes[draw(st.integers(0, len(nodes) - 1))]
    weird = st.sampled_from([0.0, -1.0, float("nan"), float("inf"), -float("inf"), 1e-40, 1e38, 2.5, 65.0, 1e300])
    if kind == "dim":
        value_infos = list(m.graph.input) + list(m.graph.output) + list(m.graph.value_info)
        vi = value_infos[draw(st.integers(0, len(value_infos) - 1))]
        dims = vi.type.tensor_type.shape.dim
        if dims:
            dims[draw(st.integers(0, len(dims) - 1))].dim_value = draw(st.sampled_from([0, 1, 7, 2**31 - 1]))
    elif kind in ("bit_width", "scale", "zero_point"):
        quants = [n for n in nodes if n.op_type in ("Quant", "Trunc", "BipolarQuant")]
        index = {"scale": 1, "zero_point": 2, "bit_width": 3}[kind]
        names = {n.input[index] for n in quants if len(n.input) > index}
        for init in inits:
            if init.name in names and draw(st.booleans()):
                arr = numpy_helper.to_array(init).copy().astype(np.float32)
                arr.reshape(-1)[0] = draw(weird)
                init.CopyFrom(numpy_helper.from_array(arr, init.name))
    elif kind in ("attribute_value", "attribute_type"):
        if node.attribute:
            attr = node.attribute[draw(st.integers(0, len(node.attribute) - 1))]
            name = attr.name
            node.attribute.remove(attr)
            if kind == "attribute_type":
                value = draw(st.sampled_from(["text", 3, 2.5, [1, 2], [0.5], b"\xff"]))
            else:
                value = draw(st.sampled_from([0, -1, 7, 2**40, [0], [9, 9], [-1, -1], [0, 0, 0, 0], "ROUND", ""]))
            node.attribute.append(helper.make_attribute(name, value))
    elif kind == "duplicate_name":
        other = nodes[draw(st.integers(0, len(nodes) - 1))]
        if other is not node and other.output:
            node.output[0] = other.output[0]
        elif inits:
            node.output[0] = inits[0].name
    elif kind == "hostile_name":
        evil = draw(st.sampled_from(['x"; system("id"); //', "a\nexec id", "\x1b[2J", "[red]", "../../etc", "\x00"]))
        node.name = evil
        old = node.output[0]
        for other in nodes:
            for i, name in enumerate(other.input):
                if name == old:
                    other.input[i] = evil + "_t"
        for out in m.graph.output:
            if out.name == old:
                out.name = evil + "_t"
        node.output[0] = evil + "_t"
    elif kind == "drop_input":
        if node.input:
            del node.input[len(node.input) - 1]
    elif kind == "external_data" and inits:
        init = inits[draw(st.integers(0, len(inits) - 1))]
        raw = numpy_helper.to_array(init).astype(np.float32).tobytes()
        location = draw(st.sampled_from(["w.bin", "../outside.bin", "/etc/passwd", "missing.bin", "sub/../w.bin"]))
        init.ClearField("raw_data")
        init.ClearField("float_data")
        init.data_location = TensorProto.EXTERNAL
        fields = [("location", location), ("offset", "0"), ("length", str(len(raw)))]
        for key, value in fields[: draw(st.sampled_from([1, 3]))]:  # with or without offset and length
            entry = init.external_data.add()
            entry.key, entry.value = key, value
        if location in ("w.bin", "sub/../w.bin"):
            extra["w.bin"] = raw[: draw(st.sampled_from([len(raw), len(raw) // 2]))]
    data = m.SerializeToString()
    if kind == "truncate":
        data = data[: draw(st.integers(0, len(data) - 1))]
    return kind, data, extra
