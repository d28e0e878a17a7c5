"""The state of a lowering run, shared by the op handlers (ops_quant, ops_nn, ops_shape).

See fpgaq.frontend.lower for the walk; this module holds what the handlers read and write.

"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from onnx import helper

from fpgaq.bounds import prefix_range
from fpgaq.errors import ModelError, UnsupportedOpError
from fpgaq.frontend.consts import QuantConst
from fpgaq.ir import graph as ir
from fpgaq.ir.chain import Affine, Chain
from fpgaq.ir.types import IntType


@dataclass(frozen=True, eq=False)
class State:
    """A float tensor of the QONNX graph = chain(codes of the IR tensor `src`).

    `quant` keeps (scale, zero_point, kind) when the tensor is exactly a Quant output, so that a quantized
    model output is dequantized on the host as QONNX does it.
    """

    src: str
    chain: Chain
    quant: tuple | None = None


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

    # ---- helpers used by the op handlers -------------------------------------------------------------

    def attr(self, node, name, default=None):
        for a in node.attribute:
            if a.name == name:
                value = helper.get_attribute_value(a)
                return value.decode() if isinstance(value, bytes) else value
        return default

    def const(self, node, index: int, what: str):
        """A float constant input (initializer or folded); QuantConst inputs give their float value."""
        if index >= len(node.input) or not node.input[index]:
            return None
        value = self.values.get(node.input[index])
        if isinstance(value, QuantConst):
            return value.value
        if value is None or isinstance(value, State):
            raise UnsupportedOpError(f"{node.op_type} node {node.name!r}: {what} must be a constant")
        return np.asarray(value)

    def quant_const(self, node, index: int, what: str) -> QuantConst:
        value = self.values.get(node.input[index])
        if not isinstance(value, QuantConst):
            raise UnsupportedOpError(
                f"{node.op_type} node {node.name!r}: {what} must be quantized by a Quant or BipolarQuant op"
            )
        return value

    def state(self, node, index: int = 0) -> State:
        name = node.input[index]
        value = self.values.get(name)
        if isinstance(value, State):
            return value
        if name == self.model.graph.input[0].name:
            raise UnsupportedOpError(
                f"{node.op_type} node {node.name!r} reads the model input directly; the model input must be "
                "quantized (Quant or BipolarQuant) before any other op"
            )
        raise UnsupportedOpError(f"{node.op_type} node {node.name!r}: input {index} must be an activation")

    def is_quant_const(self, node, index: int) -> bool:
        return index < len(node.input) and isinstance(self.values.get(node.input[index]), QuantConst)

    def is_const(self, node, index: int) -> bool:
        value = self.values.get(node.input[index])
        return value is not None and not isinstance(value, State)

    def full_shape(self, tensor_name: str) -> tuple[int, ...]:
        shape = self.model.get_tensor_shape(tensor_name)
        if shape is None:
            raise ModelError(f"no shape known for tensor {tensor_name!r}")
        return tuple(int(d) for d in shape)

    def sample_shape(self, tensor_name: str) -> tuple[int, ...]:
        return self.full_shape(tensor_name)[1:]

    def new_tensor(self, shape, dtype: IntType, lo: int, hi: int) -> str:
        name = f"t{len(self.tensors)}"
        self.tensors[name] = ir.Tensor(name, tuple(int(d) for d in shape), dtype, int(lo), int(hi))
        return name

    def add_node(self, cls, onnx_node, inputs, out_shape, dtype, lo, hi, **fields) -> str:
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


def input_affine(state: State, node, what: str) -> Affine:
    """The chain of a dot-product input, which must be one affine map with a single scale."""
    aff = state.chain.affine()
    if aff is None:
        raise UnsupportedOpError(
            f"{node.op_type} node {node.name!r}: {what} is not a quantized tensor (a float op such as Relu, "
            "Clip or a rounding sits between its Quant and this node)"
        )
    scales = set(aff.a.reshape(-1).tolist())
    if len(scales) != 1:
        raise UnsupportedOpError(
            f"{node.op_type} node {node.name!r}: {what} has a per-channel scale; dot products need one scale"
        )
    if 0 in scales:
        raise UnsupportedOpError(f"{node.op_type} node {node.name!r}: {what} has scale 0")
    return aff


def frac(value) -> Fraction:
    return Fraction(float(value))
