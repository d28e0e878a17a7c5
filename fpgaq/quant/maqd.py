"""MaQD building blocks (arXiv 2403.14999; docs/algorithms.md#maqd) as Brevitas/PyTorch modules.

[ours] The paper's exact forms were not available; this is our formulation:
- Layer-Batch Normalization: training statistics over the mini-batch *and* every feature of the layer together
  (N, C[, H, W]) - one mean and variance per layer, so a batch of 1 still has C*H*W samples - with a
  per-channel affine. Running statistics are kept in the usual per-channel buffers (all channels equal), so
  in eval mode the module *is* a BatchNorm: it exports as BatchNormalization and fpgaq folds it into thresholds.
- Weights: standardized per output channel, W^ = (W - mean) / (std + eps) over the fan-in (a torch
  parametrization, folded to constants at export), then quantized by a scaled round-clip with a constant
  step alpha(bits) fixed by the unit variance: RC(x) = alpha * clip(round(x / alpha), -(2^(b-1) - 1), 2^(b-1) - 1).
- Activations: the same round-clip on the ReLU output (Brevitas' unsigned activation quantizer), whose
  rounding's backward pass is a surrogate derivative - a scaled sigmoid bump around each step,
  k * s * (1 - s) with s = sigmoid(k * (x - floor(x) - 1/2)) - instead of the straight-through estimator.
"""

from __future__ import annotations

import torch
import torch.nn.utils.parametrize as parametrize
from brevitas import nn as qnn
from brevitas.inject.enum import ScalingImplType
from brevitas.quant import Int8WeightPerTensorFloat, Uint8ActPerTensorFloat

SURROGATE_SHARPNESS = 4.0


class _LayerBatchNorm:
    """Shared forward of LayerBatchNorm1d/2d (mixed into the torch BatchNorm classes)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return super().forward(x)
        mean, var = x.mean(), x.var(unbiased=False)
        with torch.no_grad():
            count = x.numel()
            unbiased = var * count / max(count - 1, 1)
            self.running_mean.mul_(1 - self.momentum).add_(self.momentum * mean)
            self.running_var.mul_(1 - self.momentum).add_(self.momentum * unbiased)
            self.num_batches_tracked += 1
        shape = (1, -1) + (1,) * (x.dim() - 2)
        y = (x - mean) / torch.sqrt(var + self.eps)
        return y * self.weight.reshape(shape) + self.bias.reshape(shape) if self.affine else y


class LayerBatchNorm1d(_LayerBatchNorm, torch.nn.BatchNorm1d):
    """Layer-Batch Normalization for (N, C) and (N, C, L) inputs; a BatchNorm1d in eval mode."""


class LayerBatchNorm2d(_LayerBatchNorm, torch.nn.BatchNorm2d):
    """Layer-Batch Normalization for (N, C, H, W) inputs; a BatchNorm2d in eval mode."""


def fold(lbn: torch.nn.modules.batchnorm._BatchNorm) -> tuple[torch.Tensor, torch.Tensor]:
    """The per-channel affine (a, b) with lbn(x) == a * x + b in eval mode."""
    a = lbn.weight.detach() / torch.sqrt(lbn.running_var + lbn.eps)
    return a, lbn.bias.detach() - lbn.running_mean * a


class _SurrogateRoundFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, sharpness):
        ctx.save_for_backward(x)
        ctx.sharpness = sharpness
        return torch.round(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        s = torch.sigmoid(ctx.sharpness * (x - torch.floor(x) - 0.5))
        return grad * ctx.sharpness * s * (1 - s), None


class SurrogateRound(torch.nn.Module):
    """Round half to even forward (as QONNX ROUND); a sigmoid-bump surrogate derivative backward."""

    def __init__(self, sharpness: float = SURROGATE_SHARPNESS):
        super().__init__()
        self.sharpness = sharpness

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _SurrogateRoundFn.apply(x, self.sharpness)


class RoundClipActQuant(Uint8ActPerTensorFloat):
    """Unsigned round-clip activation quantizer trained with the surrogate gradient (exports as ROUND)."""

    float_to_int_impl = SurrogateRound


def round_clip_step(bits: int) -> float:
    """[ours] alpha for unit-variance weights: ternary steps at +-0.5 sigma; wider codes span +-2.5 sigma."""
    if bits < 2:
        raise ValueError(f"round-clip weights need at least 2 bits, not {bits}")
    return 1.0 if bits == 2 else 2.5 / (2 ** (bits - 1) - 1)


def round_clip_weight_quant(bits: int):
    """A Brevitas weight quantizer with the constant step round_clip_step(bits), symmetric narrow range.

    Brevitas' constant scaling names the largest value, step * (2^(bits-1) - 1)."""
    levels = 2 ** (bits - 1) - 1
    return type(
        f"RoundClipWeight{bits}",
        (Int8WeightPerTensorFloat,),
        {
            "scaling_impl_type": ScalingImplType.CONST,
            "scaling_const": round_clip_step(bits) * levels,
            "narrow_range": True,
            "bit_width": bits,
        },
    )


class Standardize(torch.nn.Module):
    """Weight standardization over each output channel's fan-in."""

    def __init__(self, eps: float = 1e-5):
        super().__init__()
        self.eps = eps

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        flat = w.reshape(w.shape[0], -1)
        mean, std = flat.mean(1, keepdim=True), flat.std(1, keepdim=True)
        return ((flat - mean) / (std + self.eps)).reshape(w.shape)


def maqd_linear(in_features: int, out_features: int, bits: int, bias: bool = False) -> qnn.QuantLinear:
    layer = qnn.QuantLinear(
        in_features, out_features, bias=bias, weight_quant=round_clip_weight_quant(bits), return_quant_tensor=False
    )
    parametrize.register_parametrization(layer, "weight", Standardize())
    return layer


def maqd_conv2d(in_channels: int, out_channels: int, kernel_size: int, bits: int, **kwargs) -> qnn.QuantConv2d:
    layer = qnn.QuantConv2d(
        in_channels,
        out_channels,
        kernel_size,
        bias=kwargs.pop("bias", False),
        weight_quant=round_clip_weight_quant(bits),
        return_quant_tensor=False,
        **kwargs,
    )
    parametrize.register_parametrization(layer, "weight", Standardize())
    return layer


def maqd_relu(bits: int) -> qnn.QuantReLU:
    return qnn.QuantReLU(act_quant=RoundClipActQuant, bit_width=bits, return_quant_tensor=True)
