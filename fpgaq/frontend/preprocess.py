"""Elementwise preprocessing of the float model input by constants (bnn_pynq's `2 * x - 1`), folded into the
host-side input quantization.

Mul, Add, Sub and Div between the model input (possibly after shape ops) and a constant are kept pending in the
RawInput, with the constant moved to the model input's layout; the input quantizer then hands them to the
InputSpec, and the host computes them op by op in float32 before quantizing, as QONNX does. Anything else on
the float input (a second activation, `constant / x`, a Conv, a Relu) is refused, naming the node.
"""

from __future__ import annotations

import numpy as np

from fpgaq.errors import UnsupportedOpError
from fpgaq.frontend.context import Lowering, RawInput, where
from fpgaq.frontend.ops_quant import check_broadcast, sample_f32
from fpgaq.ir.chain import compress

ALLOWED = "shape ops and Mul, Add, Sub or Div by constants"


def reads_raw_input(low: Lowering, node) -> bool:
    """The node reads the float model input (before its quantizer) on one of its inputs."""
    return any(low.raw(node, i) is not None for i in range(len(node.input)))


def fold_preprocessing(low: Lowering, node) -> None:
    """Mul/Add/Sub/Div of the float model input by a constant: one more float32 step for the host."""
    here = where(node)
    raw_index = 0 if low.raw(node, 0) is not None else 1
    other = 1 - raw_index
    if not low.is_const(node, other):
        raise UnsupportedOpError(
            f"{here} combines the model input with input {other}, which is not a constant; before the input "
            f"quantizer only {ALLOWED} can be folded into the host-side input quantization"
        )
    if node.op_type == "Div" and raw_index == 1:
        raise UnsupportedOpError(
            f"{here} divides a constant by the model input, which is not an affine map; before the input "
            f"quantizer only {ALLOWED} can be folded into the host-side input quantization"
        )
    raw: RawInput = low.raw(node, raw_index)
    value = low.const(node, other, "the constant")
    full = (1,) + raw.shape
    check_broadcast(np.shape(value), full, here, "the constant")
    if np.asarray(value).dtype != np.float32:
        raise UnsupportedOpError(f"{here}: the constant must be float32, as the model input, not {value.dtype}")
    if node.op_type == "Div" and np.any(np.asarray(value) == 0):
        raise UnsupportedOpError(f"{here}: division by zero")
    constant = compress(np.ascontiguousarray(raw.to_input_layout(sample_f32(value, len(full)))))
    constant = np.array(constant, dtype=np.float32)
    constant.setflags(write=False)
    op = {"Mul": "mul", "Add": "add", "Div": "div", "Sub": "sub" if raw_index == 0 else "rsub"}[node.op_type]
    low.set(node, raw.preprocessed(op, constant))
