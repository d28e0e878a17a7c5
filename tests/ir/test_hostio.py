"""Host-side quantization reproduces qonnx's Quant/BipolarQuant bit for bit; dequantization as QONNX does it."""

from __future__ import annotations

import numpy as np
import pytest

from fpgaq.ir.chain import Chain
from fpgaq.ir.graph import InputSpec, OutputSpec
from fpgaq.ir.hostio import dequantize_output, quantize_input
from fpgaq.ir.types import Rounding, quant_int_range

QONNX_NAMES = {Rounding.ROUND_TO_ZERO: "DOWN"}


def spec(kind, scale, zp, bits, signed, narrow, mode):
    return InputSpec("t0", kind, np.asarray(scale, np.float32), np.asarray(zp, np.float32), bits, signed, narrow, mode)


@pytest.mark.parametrize("mode", list(Rounding))
@pytest.mark.parametrize(
    ("bits", "signed", "narrow"),
    [(8, True, False), (4, False, False), (5, True, True), (3, False, True), (16, True, False)],
)
def test_input_codes_equal_qonnx(mode, bits, signed, narrow):
    from qonnx.custom_op.general.quant import quant

    rng = np.random.default_rng(bits)
    x = (rng.normal(size=(64, 3, 5)) * 3).astype(np.float32)
    x[:4, 0, :] = np.array([0.5, 1.5, -0.5, -2.5, 0.25], np.float32) * np.float32(0.125)  # exact ties
    scale = np.array([0.125, 0.0371, 0.5], np.float32).reshape(3, 1)
    zp = np.float32(0 if signed else 2)
    ours = quantize_input(spec("quant", scale, zp, bits, signed, narrow, mode), x)
    ref = quant(x, scale, zp, np.float32(bits), signed, narrow, QONNX_NAMES.get(mode, mode.value))
    ref_codes = np.rint(ref / scale + zp).astype(np.int64)
    np.testing.assert_array_equal(ours, ref_codes)
    lo, hi = quant_int_range(bits, signed, narrow)
    assert ours.min() >= lo and ours.max() <= hi


def test_bipolar_and_one_bit_inputs():
    from qonnx.custom_op.general.bipolar_quant import binary_quant
    from qonnx.custom_op.general.quant import quant

    x = np.array([[-1.0, -0.0, 0.0, 2.0, -1e-30]], np.float32)
    codes = quantize_input(spec("bipolar", 0.5, 0, 1, True, False, Rounding.ROUND), x)
    np.testing.assert_array_equal(binary_quant(x, np.float32(0.5)) > 0, codes == 1)
    sign = quantize_input(spec("quant", 0.5, 0, 1, True, False, Rounding.ROUND), x)
    ref = quant(x, np.float32(0.5), np.float32(0), np.float32(1), True, False, "ROUND")
    np.testing.assert_array_equal(sign, (ref > 0).astype(np.int64))
    np.testing.assert_array_equal(sign, [[0, 1, 1, 1, 0]])


def test_quantized_output_dequantizes_like_qonnx():
    scale, zp = np.array([0.1], np.float32), np.array([3], np.float32)
    out = OutputSpec("t1", Chain(1), (scale, zp, "int"), (4,))
    codes = np.array([[0, 3, 7, 255]])
    np.testing.assert_array_equal(dequantize_output(out, codes), (codes.astype(np.float32) - zp) * scale)
    assert dequantize_output(out, codes).dtype == np.float32
