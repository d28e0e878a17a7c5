"""The state of a lowering run, shared by the op handlers (ops_quant, ops_nn, ops_shape).

See fpgaq.frontend.lower for the walk; this module holds what the handlers read and write, and the checks
every value read from the file goes through (attribute types, finite constants, shapes, integer widths).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from onnx import AttributeProto

from fpgaq.bounds import bits_for_range, prefix_range
from fpgaq.errors import ModelError, UnsupportedOpError
from fpgaq.frontend.consts import QuantConst
from fpgaq.ir import graph as ir
from fpgaq.ir.chain import Affine, Chain, compress
from fpgaq.ir.types import MAX_INT_BITS, IntType


@dataclass(frozen=True, eq=False)
class State:
    """A float tensor of the QONNX graph = chain(codes of the IR tensor `src`).

    `quant` keeps (scale, zero_point, kind) when the tensor is exactly a Quant output, so that a quantized
    model output is dequantized on the host as QONNX does it.
    """

    src: str
    chain: Chain
    quant: tuple | None = None


@dataclass(frozen=True, eq=False)
class RawInput:
    """The float model input before its quantizer, after shape ops (`ops`: (ONNX node, "reshape" | "transpose",
    argument, shape before)) and elementwise preprocessing by constants (`pre`: (op, float32 constant in the
    model input's layout), fpgaq.host.PREPROCESS).

    Shape ops commute with elementwise ops, so the host computes the preprocessing and the quantizer in the
    model input's layout, in float32 op by op as QONNX does, and the pending shape ops become IR
    Reshape/Transpose nodes on the integer codes.
    """

    input_shape: tuple[int, ...]
    shape: tuple[int, ...]
    ops: tuple = ()
    pre: tuple = ()

    def then(self, node, kind: str, arg, shape: tuple[int, ...]) -> RawInput:
        """The raw input after one more shape op, which gives it the per-sample `shape`."""
        return RawInput(self.input_shape, shape, self.ops + ((node, kind, arg, self.shape),), self.pre)

    def preprocessed(self, op: str, constant: np.ndarray) -> RawInput:
        """The raw input after one more elementwise op by a constant given in the model input's layout."""
        return RawInput(self.input_shape, self.shape, self.ops, self.pre + ((op, constant),))

    def to_input_layout(self, param: np.ndarray) -> np.ndarray:
        """A per-sample parameter given in this layout, moved to the model input's layout element by element."""
        arr = np.broadcast_to(param, self.shape)
        for _, kind, arg, before in reversed(self.ops):
            arr = arr.reshape(before) if kind == "reshape" else arr.transpose(np.argsort(arg))
        return arr


_WIDTH_HINTS = {
    "Dense": ("accumulator", "narrow the weights, the input or the bias"),
    "Conv": ("accumulator", "narrow the weights, the input or the bias"),
    "SumPool": ("sum", "narrow the input or the pooling window"),
    "Add": ("sum", "narrow the inputs or bring their scales closer"),
}


def where(node) -> str:
    """How messages name an ONNX node: "Quant node 'Quant_0'"."""
    return f"{node.op_type} node {node.name!r}"


def check_finite(node, what: str, value) -> np.ndarray:
    """A numeric constant from the file as an array; NaN, infinity, empty or non-numeric values are refused."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise ModelError(f"{where(node)}: {what} must be numeric, not of type {arr.dtype}")
    if arr.size == 0:
        raise ModelError(f"{where(node)}: {what} is empty")
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        bad = arr.reshape(-1)[~np.isfinite(arr.reshape(-1))][0]
        raise ModelError(f"{where(node)}: {what} must be finite, not {float(bad)}")
    return arr


def check_inputs(node, here: str, required: int, most: int | None) -> None:
    """The node has `required` non-empty leading inputs and at most `most` inputs (None: no limit)."""
    count = len(node.input)
    if count < required or (most is not None and count > most):
        raise ModelError(f"{here}: {node.op_type} takes {_count(required, most)}, not {count}")
    for index in range(required):
        if not node.input[index]:
            raise ModelError(f"{here}: its required input {index} is empty")


def _count(required: int, most: int | None) -> str:
    noun = "input" if most == required == 1 else "inputs"
    if most is None:
        return f"at least {required} {noun}"
    if most == required:
        return f"{required} {noun}"
    return f"{required} {'or' if most == required + 1 else 'to'} {most} {noun}"


def check_width(node, what: str, lo: int, hi: int, hint: str) -> None:
    """Refuse an integer range wider than MAX_INT_BITS (int64 arithmetic would silently wrap)."""
    bits = bits_for_range(lo, hi)
    if bits > MAX_INT_BITS:
        raise UnsupportedOpError(
            f"{where(node)}: {what} needs {bits} bits; fpgaq carries integers of at most {MAX_INT_BITS} bits ({hint})"
        )


class Lowering:
    """Mutable state of one lowering run: the ONNX model, the values seen so far, the IR being built."""

    def __init__(self, model):
        self.model = model
        self.values: dict[str, object] = {}
        self.tensors: dict[str, ir.Tensor] = {}
        self.nodes: list[ir.Node] = []
        self.input_spec: ir.InputSpec | None = None
        self.quantized: dict[str, str] = {}  # ONNX Quant/BipolarQuant output -> IR tensor of its codes
        self._counters: dict[str, itertools.count] = {}
        for init in model.graph.initializer:
            self.values[init.name] = model.get_initializer(init.name)
        name = model.graph.input[0].name
        shape = self.sample_shape(name)
        self.values[name] = RawInput(shape, shape)

    # ---- attributes, checked against their ONNX type -------------------------------------------------

    def _attribute(self, node, name: str, kinds: tuple, shown: str):
        """The attribute called `name` (None when absent); its ONNX type must be one of `kinds`."""
        for a in node.attribute:
            if a.name == name:
                if a.type not in kinds:
                    raise ModelError(f"{where(node)}: attribute {name} must be {shown}, not {_show_attribute(a)}")
                return a
        return None

    def attr_int(self, node, name: str, default: int | None, choices=None) -> int | None:
        """An INT attribute, optionally one of `choices`."""
        a = self._attribute(node, name, (AttributeProto.INT,), "an integer")
        value = default if a is None else int(a.i)
        if choices is not None and value not in choices:
            valid = " or ".join(str(c) for c in choices)
            raise UnsupportedOpError(f"{where(node)}: attribute {name} must be {valid}, not {value}")
        return value

    def attr_flag(self, node, name: str, default: int) -> bool:
        """A 0/1 INT attribute (signed, narrow, transB, ...) as a bool."""
        return bool(self.attr_int(node, name, default, (0, 1)))

    def attr_float(self, node, name: str, default: float | None) -> Fraction | None:
        """A finite FLOAT (or INT) attribute as an exact Fraction."""
        a = self._attribute(node, name, (AttributeProto.FLOAT, AttributeProto.INT), "a number")
        if a is None:
            return None if default is None else Fraction(default)
        value = a.f if a.type == AttributeProto.FLOAT else a.i
        if not math.isfinite(value):
            raise ModelError(f"{where(node)}: attribute {name} must be finite, not {value}")
        return Fraction(value)

    def attr_str(self, node, name: str, default: str | None) -> str | None:
        a = self._attribute(node, name, (AttributeProto.STRING,), "a string")
        return default if a is None else a.s.decode(errors="replace")

    def attr_ints(self, node, name: str, default) -> tuple[int, ...] | None:
        a = self._attribute(node, name, (AttributeProto.INTS,), "a list of integers")
        return default if a is None else tuple(int(v) for v in a.ints)

    # ---- helpers used by the op handlers -------------------------------------------------------------

    def const(self, node, index: int, what: str):
        """A finite float constant input (initializer or folded); QuantConst inputs give their float value."""
        if index >= len(node.input) or not node.input[index]:
            return None
        value = self.values.get(node.input[index])
        if isinstance(value, QuantConst):
            return value.value
        if not isinstance(value, np.ndarray):
            raise UnsupportedOpError(f"{where(node)}: {what} must be a constant")
        return check_finite(node, what, value)

    def quant_const(self, node, index: int, what: str) -> QuantConst:
        value = self.values.get(node.input[index])
        if not isinstance(value, QuantConst):
            raise UnsupportedOpError(f"{where(node)}: {what} must be quantized by a Quant or BipolarQuant op")
        return value

    def state(self, node, index: int = 0) -> State:
        value = self.values.get(node.input[index])
        if isinstance(value, State):
            return value
        if isinstance(value, RawInput):
            raise UnsupportedOpError(
                f"{where(node)} reads the model input directly; the model input must be "
                "quantized (Quant or BipolarQuant) before any other op (only shape ops and Mul, Add, Sub or Div "
                "by constants may come before the quantizer, which the host computes): put a quantizer such as "
                "brevitas.nn.QuantIdentity before the first layer"
            )
        raise UnsupportedOpError(f"{where(node)}: input {index} must be an activation")

    def raw(self, node, index: int = 0) -> RawInput | None:
        """The model input (possibly after shape ops) when this node reads it, else None."""
        value = self.values.get(node.input[index])
        return value if isinstance(value, RawInput) else None

    def is_quant_const(self, node, index: int) -> bool:
        return index < len(node.input) and isinstance(self.values.get(node.input[index]), QuantConst)

    def is_const(self, node, index: int) -> bool:
        return isinstance(self.values.get(node.input[index]), (np.ndarray, QuantConst))

    def full_shape(self, tensor_name: str) -> tuple[int, ...]:
        """The static shape of a tensor, batch first; every axis after the batch axis must be positive."""
        shape = self.model.get_tensor_shape(tensor_name)
        if shape is None:
            raise ModelError(f"no shape known for tensor {tensor_name!r}")
        shape = tuple(int(d) for d in shape)
        if not shape or any(d < 1 for d in shape[1:]):
            raise ModelError(
                f"tensor {tensor_name!r} has shape {list(shape)}; it needs a batch axis and positive sizes after it"
            )
        return shape

    def sample_shape(self, tensor_name: str) -> tuple[int, ...]:
        return self.full_shape(tensor_name)[1:]

    def new_tensor(self, shape, dtype: IntType, lo: int, hi: int) -> str:
        name = f"t{len(self.tensors)}"
        self.tensors[name] = ir.Tensor(name, tuple(int(d) for d in shape), dtype, int(lo), int(hi))
        return name

    def add_node(self, cls, onnx_node, inputs, out_shape, dtype, lo, hi, **fields) -> str:
        """Append an IR node; its output range must fit MAX_INT_BITS and its shape must be non-empty."""
        what, hint = _WIDTH_HINTS.get(cls.op, ("output", "narrow its input"))
        check_width(onnx_node, f"its {cls.op} {what}", min(lo, dtype.min), max(hi, dtype.max), hint)
        if any(int(d) < 1 for d in out_shape):
            raise ModelError(f"{where(onnx_node)}: its output would have the empty shape {list(out_shape)}")
        prefix = cls.op.lower()
        counter = self._counters.setdefault(prefix, itertools.count())
        out = self.new_tensor(out_shape, dtype, lo, hi)
        self.nodes.append(
            cls(name=f"{prefix}{next(counter)}", inputs=tuple(inputs), output=out, origin=onnx_node.name, **fields)
        )
        return out

    def add_dot_product(self, cls, onnx_node, state, weight, bias, shape, weight_type, **fields) -> str:
        src = self.tensors[state.src]
        lo, hi = prefix_range(weight.reshape(weight.shape[0], -1), src.lo, src.hi, bias)
        acc_lo, acc_hi = min(lo), max(hi)
        check_width(onnx_node, f"its {cls.op} accumulator", acc_lo, acc_hi, _WIDTH_HINTS[cls.op][1])
        return self.add_node(
            cls,
            onnx_node,
            [state.src],
            shape,
            IntType.for_range(acc_lo, acc_hi),
            acc_lo,
            acc_hi,
            weight=ir.frozen_array(weight),
            bias=None if bias is None else ir.frozen_array(bias),
            weight_type=weight_type,
            **fields,
        )

    def set(self, onnx_node, value) -> None:
        self.values[onnx_node.output[0]] = value


def _show_attribute(a) -> str:
    """An attribute's value for a message (its kind when it is not a plain number, string or list)."""
    if a.type == AttributeProto.FLOAT:
        return repr(a.f)
    if a.type == AttributeProto.INT:
        return repr(a.i)
    if a.type == AttributeProto.STRING:
        return repr(a.s.decode(errors="replace"))
    if a.type == AttributeProto.INTS:
        return repr(list(a.ints))
    if a.type == AttributeProto.FLOATS:
        return repr(list(a.floats))
    return f"an attribute of type {AttributeProto.AttributeType.Name(a.type)}"


PER_TENSOR_HINT = "use a per-tensor activation scale (scaling_per_output_channel=False) on the quantizer before it"


def _affine_of(state: State, node, what: str) -> Affine:
    aff = state.chain.affine()
    if aff is None:
        raise UnsupportedOpError(
            f"{where(node)}: {what} is not a quantized tensor (a float op such as Relu, "
            "Clip or a rounding sits between its Quant and this node)"
        )
    return aff


def input_affine(state: State, node, what: str, low: Lowering | None = None) -> Affine:
    """The chain of a dot-product input, which must be one affine map with a single scale."""
    aff = _affine_of(state, node, what)
    scales = set(aff.a.reshape(-1).tolist())
    if len(scales) != 1:
        raise UnsupportedOpError(
            f"{where(node)}: {what} has a per-channel scale{_source(low, state)}; a dot product that mixes "
            f"channels needs one scale: {PER_TENSOR_HINT}"
        )
    if 0 in scales:
        raise UnsupportedOpError(f"{where(node)}: {what} has scale 0")
    return aff


def channel_scales(low: Lowering, state: State, node, what: str, groups: int) -> tuple[Affine, list[Fraction]]:
    """The chain of a (grouped) convolution's input and its scale per input channel, which may differ between
    groups (a depthwise convolution: each channel is its own dot product, so the scale goes into that channel's
    output chain, exactly) but not within a group, nor within a channel."""
    aff = _affine_of(state, node, what)
    channels = low.tensors[state.src].shape[0]
    a = compress(aff.a)
    if any(n != 1 for n in a.shape[1:]):
        raise UnsupportedOpError(f"{where(node)}: {what} has a scale that varies within a channel")
    scales = np.broadcast_to(a.reshape(-1), (channels,)).tolist()
    if any(v == 0 for v in scales):
        raise UnsupportedOpError(f"{where(node)}: {what} has scale 0")
    size = channels // groups
    for g in range(groups):
        if len(set(scales[g * size : (g + 1) * size])) != 1:
            mixes = "mixes channels" if groups == 1 else f"mixes the {size} channels of group {g}"
            raise UnsupportedOpError(
                f"{where(node)}: {what} has a per-channel scale{_source(low, state)}; this convolution {mixes}, "
                f"which needs one scale there (only a depthwise convolution absorbs per-channel scales): "
                f"{PER_TENSOR_HINT}"
            )
    return aff, scales


def _source(low: Lowering | None, state: State) -> str:
    """Where a quantized tensor comes from (" (from Quant node 'Quant_3')"), or "" when not known."""
    if low is None:
        return ""
    for onnx_name, tensor in reversed(low.quantized.items()):  # the latest quantizer of the tensor
        if tensor == state.src:
            producer = low.model.find_producer(onnx_name)
            if producer is not None:
                return f" (from {where(producer)})"
    return ""


def frac(value) -> Fraction:
    """An exact Fraction of a finite float from the file (callers check finiteness with check_finite)."""
    return Fraction(float(value))
