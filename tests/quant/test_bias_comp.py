"""Bias compensation never increases a layer's output error on the calibration data; results still build exactly."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from brevitas import nn as qnn
from brevitas.graph.calibrate import calibration_mode
from brevitas.quant import Int32Bias

from fpgaq import frontend
from fpgaq.backends.hls.csim import CSim
from fpgaq.errors import FpgaqError
from fpgaq.ir.execute import run
from fpgaq.pipeline import build
from fpgaq.quant import bias_compensation, export


def float_mlp():
    return torch.nn.Sequential(
        torch.nn.Linear(16, 24), torch.nn.ReLU(), torch.nn.Linear(24, 12), torch.nn.ReLU(), torch.nn.Linear(12, 5)
    )


def quant_mlp(bits=3, int_bias=False):
    bias = {"bias_quant": Int32Bias} if int_bias else {}
    return torch.nn.Sequential(
        qnn.QuantIdentity(bit_width=8, return_quant_tensor=True),
        qnn.QuantLinear(16, 24, bias=True, weight_bit_width=bits, return_quant_tensor=True, **bias),
        qnn.QuantReLU(bit_width=bits, return_quant_tensor=True),
        qnn.QuantLinear(24, 12, bias=True, weight_bit_width=bits, return_quant_tensor=True, **bias),
        qnn.QuantReLU(bit_width=bits, return_quant_tensor=True),
        qnn.QuantLinear(12, 5, bias=True, weight_bit_width=bits, **bias),
    )


def float_cnn():
    return torch.nn.Sequential(
        torch.nn.Conv2d(2, 6, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Conv2d(6, 4, 3),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(4 * 4 * 4, 3),
    )


def quant_cnn(bits=3):
    return torch.nn.Sequential(
        qnn.QuantIdentity(bit_width=8, return_quant_tensor=True),
        qnn.QuantConv2d(2, 6, 3, padding=1, weight_bit_width=bits, return_quant_tensor=True),
        qnn.QuantReLU(bit_width=bits, return_quant_tensor=True),
        qnn.QuantConv2d(6, 4, 3, weight_bit_width=bits, bias=False, return_quant_tensor=True),
        qnn.QuantReLU(bit_width=bits, return_quant_tensor=True),
        torch.nn.Flatten(),
        qnn.QuantLinear(64, 3, bias=True, weight_bit_width=bits),
    )


def paired(float_model, quant_model, calib):
    """The quantized model with the float model's weights and calibrated activation scales."""
    f_layers = [m for m in float_model.modules() if isinstance(m, torch.nn.Linear | torch.nn.Conv2d)]
    q_layers = [m for m in quant_model.modules() if isinstance(m, torch.nn.Linear | torch.nn.Conv2d)]
    with torch.no_grad():
        for f, q in zip(f_layers, q_layers, strict=True):
            q.weight.copy_(f.weight)
            if q.bias is not None:
                q.bias.copy_(f.bias)
    quant_model.eval()
    with torch.no_grad(), calibration_mode(quant_model):
        quant_model(calib)
    return quant_model.eval()


@pytest.mark.parametrize("kind", ["mlp", "mlp_int32_bias", "cnn"])
def test_layer_error_never_increases(kind):
    torch.manual_seed(0)
    if kind == "cnn":
        fm, calib = float_cnn().eval(), torch.randn(128, 2, 6, 6)
        qm = paired(fm, quant_cnn(), calib)
    else:
        fm, calib = float_mlp().eval(), torch.randn(256, 16)
        qm = paired(fm, quant_mlp(int_bias=kind.endswith("bias")), calib)
    report = bias_compensation(qm, fm, calib)
    assert len(report) == 3
    for layer in report:
        assert layer.mse_after <= layer.mse_before
    assert any(layer.mse_after < 0.99 * layer.mse_before for layer in report)
    again = bias_compensation(qm, fm, calib)  # the optimum is a fixed point: nothing more to gain
    for first, second in zip(report, again, strict=True):
        assert second.mse_after <= second.mse_before <= first.mse_after * (1 + 1e-6) + 1e-12


def test_compensated_model_builds_exactly(tmp_path):
    torch.manual_seed(1)
    fm, calib = float_mlp().eval(), torch.randn(256, 16)
    qm = paired(fm, quant_mlp(int_bias=True), calib)
    bias_compensation(qm, fm, calib)
    path = export(qm, calib[:2], tmp_path / "m.onnx")
    build(path, "pynq-z2", tmp_path / "b")
    x = calib[:64].numpy().astype(np.float32)
    np.testing.assert_array_equal(CSim(tmp_path / "b").run(x), run(frontend.load(path), x))
    with torch.no_grad():
        np.testing.assert_allclose(run(frontend.load(path), x), qm(torch.from_numpy(x)).numpy(), rtol=1e-4, atol=1e-5)


def test_mismatched_models_are_refused():
    with pytest.raises(
        FpgaqError,
        match=r"^bias compensation: the quantized model has 3 Linear/Conv layers, the "
        r"float model 1$",
    ):
        bias_compensation(quant_mlp(), torch.nn.Linear(16, 5), torch.randn(4, 16))
