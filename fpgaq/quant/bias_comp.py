"""Bias compensation (arXiv 2404.01892; docs/algorithms.md#bias-compensation), sequential, with a guarantee.

For each Linear/Conv layer in order, with calibration inputs propagated through the already-compensated
quantized model: d = O - O^ (float layer output on the float model's activations minus quantized layer output
on the quantized model's activations), b*_c = mean of d over every non-channel position, and the layer's bias
moves by b*. E_c(b) = sum_n (d_nc - b)^2 is minimised by b*_c, so the error cannot grow - but a quantized
bias (Int32Bias) rounds the shift, so each channel's realised error is measured after the update and the
channel is reverted if it grew: the layer's output MSE on the calibration data never increases.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from fpgaq.errors import FpgaqError


@dataclass(frozen=True)
class LayerCompensation:
    name: str
    mse_before: float
    mse_after: float
    mean_abs_shift: float
    channels_kept: int
    channels: int


def _dot_layers(model: torch.nn.Module):
    return [(n, m) for n, m in model.named_modules() if isinstance(m, torch.nn.Linear | torch.nn.modules.conv._ConvNd)]


def _output(model, layer, calib) -> torch.Tensor:
    captured = {}

    def hook(_module, _inputs, output):
        captured["out"] = output.value if hasattr(output, "value") else output

    handle = layer.register_forward_hook(hook)
    try:
        with torch.no_grad():
            model(calib)
    finally:
        handle.remove()
    return captured["out"].detach().double()


def _channel_errors(diff: torch.Tensor, conv: bool) -> torch.Tensor:
    """Sum of squared errors per output channel (channel axis 1 for conv, last for linear)."""
    moved = diff.movedim(1, -1) if conv else diff
    return (moved.reshape(-1, moved.shape[-1]) ** 2).sum(dim=0)


def bias_compensation(qmodel: torch.nn.Module, float_model: torch.nn.Module, calib: torch.Tensor) -> list:
    """Compensate every Linear/Conv bias of `qmodel` (in place) against `float_model`; returns a per-layer report.

    The two models' Linear/Conv layers are matched in module order and must have the same shapes. Layers
    without a bias get a float one.
    """
    q_layers, f_layers = _dot_layers(qmodel), _dot_layers(float_model)
    if len(q_layers) != len(f_layers):
        raise FpgaqError(
            f"bias compensation: the quantized model has {len(q_layers)} Linear/Conv layers, the float "
            f"model {len(f_layers)}"
        )
    qmodel.eval()
    float_model.eval()
    report = []
    for (name, q), (_, f) in zip(q_layers, f_layers, strict=True):
        if q.weight.shape != f.weight.shape:
            raise FpgaqError(
                f"bias compensation: layer {name!r} has weights {tuple(q.weight.shape)} in the quantized "
                f"model and {tuple(f.weight.shape)} in the float model"
            )
        conv = not isinstance(q, torch.nn.Linear)
        target = _output(float_model, f, calib)
        diff = target - _output(qmodel, q, calib)
        before = _channel_errors(diff, conv)
        moved = diff.movedim(1, -1) if conv else diff
        shift = moved.reshape(-1, moved.shape[-1]).mean(dim=0)
        if q.bias is None:
            q.bias = torch.nn.Parameter(torch.zeros(q.weight.shape[0], dtype=q.weight.dtype))
        old = q.bias.data.clone()
        with torch.no_grad():
            q.bias.data = (old.double() + shift).to(old.dtype)
        after = _channel_errors(target - _output(qmodel, q, calib), conv)
        worse = after > before
        if worse.any():
            with torch.no_grad():
                q.bias.data = torch.where(worse, old, q.bias.data)
            after = _channel_errors(target - _output(qmodel, q, calib), conv)
        count = diff.numel()
        report.append(
            LayerCompensation(
                name,
                float(before.sum()) / count,
                float(after.sum()) / count,
                float(shift.abs().mean()),
                int((~worse).sum()),
                int(worse.numel()),
            )
        )
    return report
