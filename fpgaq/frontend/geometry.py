"""Sliding-window attributes of Conv, MaxPool and AveragePool, checked against the tensor they slide over."""

from __future__ import annotations

from dataclasses import dataclass

from fpgaq.errors import ModelError, UnsupportedOpError
from fpgaq.frontend.context import Lowering, where


@dataclass(frozen=True)
class Window:
    """A checked window: kernel, strides, pads (begins then ends), dilations, group, output spatial shape."""

    kernel: tuple[int, ...]
    strides: tuple[int, ...]
    pads: tuple[int, ...]
    dilations: tuple[int, ...]
    group: int
    out_spatial: tuple[int, ...]


def conv_attrs(low: Lowering, node, weight_shape: tuple[int, ...], in_shape: tuple[int, ...]) -> Window:
    """Conv attributes against its weight [OC, IC/g, *k] and per-sample input [C, *spatial]."""
    here = where(node)
    nd = len(weight_shape) - 2
    if nd not in (1, 2):
        raise UnsupportedOpError(f"{here}: only 1D and 2D convolutions are supported")
    if len(in_shape) != nd + 1:
        raise ModelError(f"{here}: the input of shape {(1,) + in_shape} does not fit a {nd}D convolution")
    if low.attr_str(node, "auto_pad", "NOTSET") != "NOTSET":
        raise UnsupportedOpError(f"{here}: auto_pad is not supported; export with explicit pads")
    kernel = tuple(weight_shape[2:])
    declared = low.attr_ints(node, "kernel_shape", kernel)
    if declared != kernel:
        raise ModelError(f"{here}: kernel_shape {list(declared)} does not match the weight's {list(kernel)}")
    group = low.attr_int(node, "group", 1)
    channels, oc, icg = in_shape[0], weight_shape[0], weight_shape[1]
    if group < 1 or oc % group or icg * group != channels:
        raise ModelError(
            f"{here}: group {group} does not fit {channels} input channels and weights of shape {weight_shape}"
        )
    strides, pads, dilations = _steps(low, node, nd)
    return Window(
        kernel, strides, pads, dilations, group, _out_spatial(node, in_shape[1:], kernel, strides, pads, dilations)
    )


def pool_attrs(low: Lowering, node, in_shape: tuple[int, ...]) -> Window:
    """MaxPool/AveragePool attributes against the per-sample input [C, *spatial]."""
    here = where(node)
    kernel = low.attr_ints(node, "kernel_shape", None)
    if kernel is None:
        raise ModelError(f"{here}: attribute kernel_shape is missing")
    nd = len(in_shape) - 1
    if nd < 1 or len(kernel) != nd or any(k < 1 for k in kernel):
        raise ModelError(
            f"{here}: kernel_shape must be {nd} positive integers for an input of shape {(1,) + in_shape}, "
            f"not {list(kernel)}"
        )
    if low.attr_str(node, "auto_pad", "NOTSET") != "NOTSET" or low.attr_int(node, "ceil_mode", 0, (0, 1)):
        raise UnsupportedOpError(f"{here}: auto_pad and ceil_mode are not supported")
    strides, pads, dilations = _steps(low, node, nd)
    spans = [(k - 1) * d + 1 for k, d in zip(kernel, dilations)]
    if any(p >= s for p, s in zip(pads, spans + spans)):
        raise ModelError(f"{here}: pads {list(pads)} must be smaller than the kernel {list(kernel)}")
    return Window(
        kernel, strides, pads, dilations, 1, _out_spatial(node, in_shape[1:], kernel, strides, pads, dilations)
    )


def _steps(low: Lowering, node, nd: int):
    """strides, pads and dilations: nd positive, 2 * nd non-negative and nd positive integers."""
    strides = low.attr_ints(node, "strides", (1,) * nd)
    pads = low.attr_ints(node, "pads", (0,) * (2 * nd))
    dilations = low.attr_ints(node, "dilations", (1,) * nd)
    for name, values, count, least in (
        ("strides", strides, nd, 1),
        ("pads", pads, 2 * nd, 0),
        ("dilations", dilations, nd, 1),
    ):
        if len(values) != count or any(v < least for v in values):
            kind = "positive" if least else "non-negative"
            raise ModelError(f"{where(node)}: {name} must be {count} {kind} integers, not {list(values)}")
    return strides, pads, dilations


def _out_spatial(node, spatial, kernel, strides, pads, dilations) -> tuple[int, ...]:
    nd = len(kernel)
    out = []
    for i, (size, k, s, d) in enumerate(zip(spatial, kernel, strides, dilations)):
        span, padded = (k - 1) * d + 1, size + pads[i] + pads[i + nd]
        if span > padded:
            raise ModelError(f"{where(node)}: the window ({span} wide) is larger than the padded input ({padded})")
        out.append((padded - span) // s + 1)
    return tuple(out)


def check_inferred(low: Lowering, node, sample_shape: tuple[int, ...]) -> None:
    """The output shape the file (or qonnx's shape inference) declares must be the one the op computes."""
    inferred = low.model.get_tensor_shape(node.output[0])
    if inferred is None or any(int(d) < 1 for d in inferred[1:]):
        return
    if tuple(int(d) for d in inferred[1:]) != tuple(sample_shape):
        raise ModelError(
            f"{where(node)}: the model declares the output shape {list(inferred)}, but the op computes "
            f"{[inferred[0], *sample_shape]}"
        )
