"""Brevitas models trained on scikit-learn's digits, shared by the benchmarks (QAT, a few seconds each)."""

from __future__ import annotations

import torch
from brevitas import nn as qnn
from brevitas.quant import (
    Int8ActPerTensorFixedPoint,
    Int8WeightPerTensorFixedPoint,
    Int8WeightPerTensorFloat,
    Int32Bias,
    Uint8ActPerTensorFixedPoint,
    Uint8ActPerTensorFloat,
)


def mlp(pow2: bool, int_bias: bool) -> torch.nn.Module:
    wq = Int8WeightPerTensorFixedPoint if pow2 else Int8WeightPerTensorFloat
    aq = Uint8ActPerTensorFixedPoint if pow2 else Uint8ActPerTensorFloat
    iq = Int8ActPerTensorFixedPoint if pow2 else Uint8ActPerTensorFloat
    bias = {"bias_quant": Int32Bias} if int_bias else {}
    layers = [qnn.QuantIdentity(act_quant=iq, bit_width=8, return_quant_tensor=True)]
    width = 64
    for h in (64, 32):
        layers += [
            qnn.QuantLinear(width, h, bias=True, weight_quant=wq, weight_bit_width=4, return_quant_tensor=True, **bias),
            qnn.QuantReLU(act_quant=aq, bit_width=4, return_quant_tensor=True),
        ]
        width = h
    layers.append(qnn.QuantLinear(width, 10, bias=True, weight_quant=wq, weight_bit_width=4, **bias))
    return torch.nn.Sequential(*layers)


class CNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(
            qnn.QuantIdentity(act_quant=Uint8ActPerTensorFloat, bit_width=8, return_quant_tensor=True),
            qnn.QuantConv2d(1, 8, 3, padding=1, weight_bit_width=4, bias=False),
            torch.nn.BatchNorm2d(8),
            qnn.QuantReLU(bit_width=4),
            torch.nn.MaxPool2d(2),
            qnn.QuantIdentity(act_quant=Uint8ActPerTensorFloat, bit_width=4, return_quant_tensor=True),
            qnn.QuantConv2d(8, 16, 3, padding=1, weight_bit_width=4, bias=False),
            torch.nn.BatchNorm2d(16),
            qnn.QuantReLU(bit_width=4, return_quant_tensor=True),
            torch.nn.Flatten(),
            qnn.QuantLinear(16 * 16, 10, bias=True, weight_bit_width=4),
        )

    def forward(self, x):
        return self.net(x)


MODELS = {
    "mlp float scales, float bias": (lambda: mlp(False, False), (64,)),
    "mlp pow2 scales, float bias": (lambda: mlp(True, False), (64,)),
    "mlp float scales, int32 bias": (lambda: mlp(False, True), (64,)),
    "cnn float scales, batch norm": (CNN, (1, 8, 8)),
}


def tfc(bits: int) -> torch.nn.Module:
    """A TFC-like MLP (FINN's tfc topology on 8x8 digits: 64 inputs, 3 x 64 hidden), W{bits}A{bits}."""
    layers = [qnn.QuantIdentity(act_quant=Uint8ActPerTensorFloat, bit_width=8, return_quant_tensor=True)]
    width = 64
    for _ in range(3):
        layers += [
            qnn.QuantLinear(width, 64, bias=False, weight_bit_width=bits, return_quant_tensor=True),
            torch.nn.BatchNorm1d(64),
            qnn.QuantReLU(bit_width=bits, return_quant_tensor=True),
        ]
        width = 64
    layers.append(qnn.QuantLinear(width, 10, bias=False, weight_bit_width=bits))
    return torch.nn.Sequential(*layers)


MODELS["tfc-like w2a2"] = (lambda: tfc(2), (64,))
MODELS["tfc-like w4a4"] = (lambda: tfc(4), (64,))


def export(model: torch.nn.Module, shape, path) -> str:
    import warnings

    from brevitas.export import export_qonnx

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_qonnx(model, torch.zeros(1, *shape), str(path), dynamo=False)
    return str(path)


def trained_model(name: str, epochs: int = 15) -> torch.nn.Module:
    from examples.digits_mlp import digits_split, train

    factory, shape = MODELS[name]
    x_tr, _, y_tr, _ = digits_split()
    torch.manual_seed(0)
    return train(factory(), x_tr.reshape(-1, *shape), y_tr, epochs=epochs)
