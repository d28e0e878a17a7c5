"""Small Brevitas models for the tests: random weights, calibrated activation scales, randomised batch norms.

Each builder returns (model in eval mode, per-sample input shape). They cover every op the frontend lowers.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from brevitas import nn as qnn
from brevitas.graph.calibrate import calibration_mode
from brevitas.inject.enum import FloatToIntImplType
from brevitas.quant import (
    Int8ActPerTensorFixedPoint,
    Int8ActPerTensorFloat,
    Int8WeightPerChannelFloat,
    Int8WeightPerTensorFixedPoint,
    Int32Bias,
    ShiftedUint8ActPerTensorFloat,
    SignedBinaryActPerTensorConst,
    SignedBinaryWeightPerTensorConst,
    Uint8ActPerTensorFloat,
)


class FloorAct(Uint8ActPerTensorFloat):
    float_to_int_impl_type = FloatToIntImplType.FLOOR


class CeilNarrowAct(Int8ActPerTensorFloat):
    float_to_int_impl_type = FloatToIntImplType.CEIL
    narrow_range = True


class TruncAct(Int8ActPerTensorFloat):
    float_to_int_impl_type = FloatToIntImplType.ROUND_TO_ZERO


class Wide16Act(Int8ActPerTensorFloat):
    bit_width = 16


def randomize_batchnorm(model: torch.nn.Module) -> None:
    """Random running statistics and affine parameters, some gammas negative (decreasing thresholds)."""
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            m.running_mean.uniform_(-1.0, 1.0)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data = torch.empty(n).uniform_(0.5, 1.5) * torch.where(torch.rand(n) < 0.25, -1.0, 1.0)
            m.bias.data.uniform_(-0.5, 0.5)


def calibrate(model: torch.nn.Module, shape, batches: int = 4) -> torch.nn.Module:
    randomize_batchnorm(model)
    model.eval()
    with torch.no_grad(), calibration_mode(model):
        for _ in range(batches):
            model(torch.randn(64, *shape))
    return model.eval()


class MLP(torch.nn.Module):
    """Gemm with float bias and per-tensor weights, BatchNorm1d, Relu; 4-bit activations."""

    def __init__(self, int_bias: bool = False, per_channel: bool = False):
        super().__init__()
        wq = (
            {"weight_quant": Int8WeightPerChannelFloat, "weight_bit_width": 4}
            if per_channel
            else {"weight_bit_width": 4}
        )
        bq = {"bias_quant": Int32Bias} if int_bias else {}
        self.inp = qnn.QuantIdentity(bit_width=8, return_quant_tensor=True)
        self.fc1 = qnn.QuantLinear(16, 24, bias=True, return_quant_tensor=True, **wq, **bq)
        self.bn = torch.nn.BatchNorm1d(24)
        self.relu1 = qnn.QuantReLU(bit_width=4, return_quant_tensor=True)
        self.fc2 = qnn.QuantLinear(24, 12, bias=True, return_quant_tensor=True, **wq, **bq)
        self.relu2 = qnn.QuantReLU(bit_width=3, return_quant_tensor=True)
        self.fc3 = qnn.QuantLinear(12, 5, bias=True, **wq, **bq)

    def forward(self, x):
        x = self.relu1(self.bn(self.fc1(self.inp(x))))
        return self.fc3(self.relu2(self.fc2(x)))


class ModesMLP(torch.nn.Module):
    """Zero-point (shifted uint8) input, FLOOR / CEIL+narrow / ROUND_TO_ZERO / 16-bit activations, quantized output."""

    def __init__(self):
        super().__init__()
        self.inp = qnn.QuantIdentity(act_quant=ShiftedUint8ActPerTensorFloat, return_quant_tensor=True)
        self.fc1 = qnn.QuantLinear(10, 12, bias=True, weight_bit_width=5)
        self.a1 = qnn.QuantIdentity(act_quant=FloorAct, bit_width=4, return_quant_tensor=True)
        self.fc2 = qnn.QuantLinear(12, 12, bias=True, weight_bit_width=4)
        self.a2 = qnn.QuantIdentity(act_quant=CeilNarrowAct, bit_width=5, return_quant_tensor=True)
        self.fc3 = qnn.QuantLinear(12, 8, bias=False, weight_bit_width=3)
        self.a3 = qnn.QuantIdentity(act_quant=TruncAct, bit_width=6, return_quant_tensor=True)
        self.fc4 = qnn.QuantLinear(8, 4, bias=True, weight_bit_width=6)
        self.out = qnn.QuantIdentity(act_quant=Wide16Act, return_quant_tensor=False)

    def forward(self, x):
        x = self.a1(self.fc1(self.inp(x)))
        x = self.a3(self.fc3(self.a2(self.fc2(x))))
        return self.out(self.fc4(x))


class CNN(torch.nn.Module):
    """Conv2d + BN + Relu, max pooling, depthwise conv, residual add, average pool + Trunc, concat, global pool."""

    def __init__(self):
        super().__init__()
        self.inp = qnn.QuantIdentity(bit_width=8, return_quant_tensor=True)
        self.c1 = qnn.QuantConv2d(
            3, 8, 3, padding=1, weight_bit_width=4, bias=True, bias_quant=Int32Bias, return_quant_tensor=True
        )
        self.bn1 = torch.nn.BatchNorm2d(8)
        self.r1 = qnn.QuantReLU(bit_width=4, return_quant_tensor=False)
        self.q2 = qnn.QuantIdentity(bit_width=4, return_quant_tensor=True)
        self.dw = qnn.QuantConv2d(
            8, 8, 3, padding=1, groups=8, weight_bit_width=4, bias=False, weight_quant=Int8WeightPerChannelFloat
        )
        self.bn2 = torch.nn.BatchNorm2d(8)
        self.r2 = qnn.QuantReLU(bit_width=4, return_quant_tensor=False)
        self.r3 = qnn.QuantReLU(bit_width=4, return_quant_tensor=True)
        self.pool = qnn.TruncAvgPool2d(kernel_size=2, stride=2, bit_width=4, return_quant_tensor=False)
        self.c3 = qnn.QuantConv2d(8, 6, 3, padding=1, weight_bit_width=3, bias=True, return_quant_tensor=False)
        self.r4 = qnn.QuantReLU(bit_width=4, return_quant_tensor=True)
        self.fc = qnn.QuantLinear(14, 5, bias=True, weight_bit_width=4)  # 6 + 8 channels after concat

    def forward(self, x):
        y = F.max_pool2d(self.r1(self.bn1(self.c1(self.inp(x)))), 2)
        z = self.r2(self.bn2(self.dw(self.q2(y))))
        w = self.pool(self.r3(z + y))
        cat = torch.cat([self.r4(self.c3(w)), self.r4(w)], 1)  # one quantizer: one scale for both
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(cat, 1), 1))


class Conv1dBipolar(torch.nn.Module):
    """Conv1d: binary weights, zero-point input, hardtanh quant, dilation/stride, Mul/Add, Clip, binary act."""

    def __init__(self):
        super().__init__()
        self.inp = qnn.QuantIdentity(act_quant=ShiftedUint8ActPerTensorFloat, return_quant_tensor=True)
        self.c1 = qnn.QuantConv1d(2, 4, 3, padding=1, weight_quant=SignedBinaryWeightPerTensorConst, bias=False)
        self.ht = qnn.QuantHardTanh(bit_width=3, max_val=1.0, min_val=-1.0, return_quant_tensor=True)
        self.c2 = qnn.QuantConv1d(4, 4, 3, dilation=2, stride=2, weight_quant=Int8WeightPerChannelFloat, bias=True)
        self.bin = qnn.QuantIdentity(act_quant=SignedBinaryActPerTensorConst, return_quant_tensor=True)
        self.fc = qnn.QuantLinear(16, 3, bias=False, weight_bit_width=4)

    def forward(self, x):
        y = self.ht(self.c1(self.inp(x)))
        y = self.c2(y) * 0.5 + 0.25
        y = self.bin(F.hardtanh(y))
        return self.fc(torch.flatten(y, 1))


class TokenMLP(torch.nn.Module):
    """MatMul over tokens (3-d input), Transpose, per-channel weights; power-of-two scales (exact in float32)."""

    def __init__(self):
        super().__init__()
        self.inp = qnn.QuantIdentity(act_quant=Int8ActPerTensorFixedPoint, return_quant_tensor=True)
        self.fc1 = qnn.QuantLinear(
            8, 6, bias=False, weight_quant=Int8WeightPerTensorFixedPoint, weight_bit_width=4, return_quant_tensor=True
        )
        self.a1 = qnn.QuantReLU(
            act_quant=Int8ActPerTensorFixedPoint, bit_width=4, return_quant_tensor=True, signed=False
        )
        self.fc2 = qnn.QuantLinear(24, 4, bias=False, weight_quant=Int8WeightPerTensorFixedPoint, weight_bit_width=4)

    def forward(self, x):
        y = self.a1(self.fc1(self.inp(x).transpose(1, 2)))
        return self.fc2(torch.flatten(y, 1))


class GapTrunc(torch.nn.Module):
    """Global average pooling through Brevitas' TruncAdaptiveAvgPool2d (GlobalAveragePool/ReduceMean + Trunc)."""

    def __init__(self):
        super().__init__()
        self.inp = qnn.QuantIdentity(bit_width=8, return_quant_tensor=True)
        self.conv = qnn.QuantConv2d(3, 4, 3, weight_bit_width=4, return_quant_tensor=False)
        self.relu = qnn.QuantReLU(bit_width=4, return_quant_tensor=True)
        self.gap = qnn.TruncAdaptiveAvgPool2d(output_size=1, bit_width=4, return_quant_tensor=True)
        self.fc = qnn.QuantLinear(4, 3, bias=True, weight_bit_width=4)

    def forward(self, x):
        return self.fc(torch.flatten(self.gap(self.relu(self.conv(self.inp(x)))), 1))


class Residual(torch.nn.Module):
    """A ResNet basic block between a stem conv and a classifier: the shortcut must hold what two 3x3 convs
    buffer (FIFO sizing and deadlock tests; not in BUILDERS, which every exactness test builds)."""

    def __init__(self):
        super().__init__()
        self.inp = qnn.QuantIdentity(bit_width=8, return_quant_tensor=True)
        self.c0 = qnn.QuantConv2d(
            3, 8, 3, padding=1, weight_bit_width=4, bias=True, bias_quant=Int32Bias, return_quant_tensor=True
        )
        self.r0 = qnn.QuantReLU(bit_width=4, return_quant_tensor=False)
        self.q1 = qnn.QuantIdentity(bit_width=4, return_quant_tensor=True)
        self.c1 = qnn.QuantConv2d(8, 8, 3, padding=1, weight_bit_width=4, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(8)
        self.r1 = qnn.QuantReLU(bit_width=4, return_quant_tensor=True)
        self.c2 = qnn.QuantConv2d(8, 8, 3, padding=1, weight_bit_width=4, bias=False)
        self.bn2 = torch.nn.BatchNorm2d(8)
        self.r2 = qnn.QuantReLU(bit_width=4, return_quant_tensor=False)
        self.r3 = qnn.QuantReLU(bit_width=4, return_quant_tensor=True)
        self.fc = qnn.QuantLinear(8 * 5 * 5, 4, bias=True, weight_bit_width=4)

    def forward(self, x):
        y = self.r0(self.c0(self.inp(x)))
        z = self.r2(self.bn2(self.c2(self.r1(self.bn1(self.c1(self.q1(y)))))))
        return self.fc(torch.flatten(F.max_pool2d(self.r3(z + y), 2), 1))


BUILDERS = {
    "mlp_float_bias": (lambda: MLP(), (16,)),
    "mlp_int_bias_per_channel": (lambda: MLP(int_bias=True, per_channel=True), (16,)),
    "mlp_rounding_modes": (ModesMLP, (10,)),
    "cnn": (CNN, (3, 8, 8)),
    "conv1d_bipolar": (Conv1dBipolar, (2, 12)),
    "token_mlp_pow2": (TokenMLP, (8, 4)),
    "gap_trunc": (GapTrunc, (3, 6, 6)),
}


FORK_BUILDERS = {"residual": (Residual, (3, 11, 10))}  # odd sizes: rows of 10 pixels, 11 rows


def build(name: str, seed: int = 0):
    torch.manual_seed(seed)
    factory, shape = {**BUILDERS, **FORK_BUILDERS}[name]
    return calibrate(factory(), shape), shape
