"""The golden model: an exact int64 numpy executor over the IR."""

from __future__ import annotations

import numpy as np

from fpgaq.ir import graph as ir
from fpgaq.ir.hostio import dequantize_output, quantize_input

# BLAS sums integers exactly while every product and partial sum stays within the float's integer range (2**24 in
# float32, 2**53 in float64), in any order of summation. exact_dtype computes that bound in float64 (relative error
# about K * 2**-53, far below 2) and holds it to half of each range, so the true bound is inside the range.
_FLOAT_LIMITS = ((np.float32, 2.0**23), (np.float64, 2.0**52))


def run(graph: ir.Graph, x: np.ndarray) -> np.ndarray:
    """float32 input -> float32 output: host quantization, integer execution, host dequantization."""
    codes = quantize_input(graph.input, x)
    return dequantize_output(graph.output, execute(graph, codes)[graph.output.tensor])


def execute(graph: ir.Graph, codes: np.ndarray) -> dict[str, np.ndarray]:
    """Run every node on int64 input codes (batch first); returns every tensor by name."""
    codes = np.asarray(codes, dtype=np.int64)
    want = (codes.shape[0],) + graph.tensors[graph.input.tensor].shape
    if codes.ndim != len(want) or codes.shape != want:
        raise ValueError(f"input codes have shape {codes.shape}, expected (N,) + {want[1:]}")
    values = {graph.input.tensor: codes}
    for node in graph.nodes:
        args = [values[name] for name in node.inputs]
        values[node.output] = EXECUTORS[type(node)](node, *args)
    return values


def magnitude(x: np.ndarray, *extra: int) -> int:
    """The largest |value| of an int64 array and of `extra` codes, as a Python int (no int64 overflow at -2**63)."""
    values = [int(x.max()), int(x.min())] if x.size else []
    return max((abs(v) for v in values + [int(e) for e in extra]), default=0)


def exact_dtype(magnitude_a: int, weight: np.ndarray) -> type:
    """The narrowest dtype whose matrix products with `weight` (one output per row, reduced over the rest) are
    exact for inputs of at most `magnitude_a`: float32 or float64 (BLAS) where every partial sum provably fits,
    else int64 (numpy's own loops, modulo 2**64 like any int64 sum)."""
    rows = weight.reshape(weight.shape[0], -1)
    column = float(np.abs(rows.astype(np.float64)).sum(axis=1).max(initial=0.0))
    bound = float(magnitude_a) * column
    return next((dtype for dtype, limit in _FLOAT_LIMITS if bound <= limit), np.int64)


def _matmul(a: np.ndarray, b: np.ndarray, dtype: type) -> np.ndarray:
    """a @ b computed in `dtype` (exact by exact_dtype's proof), in that dtype: whole numbers to convert to int64."""
    return np.asarray(a, dtype=dtype) @ np.asarray(b, dtype=dtype)


def _dense(node: ir.Dense, x):
    rows = x.reshape(-1, x.shape[-1])  # every leading axis at once: one matrix product
    out = _matmul(rows, node.weight.T, exact_dtype(magnitude(x), node.weight)).astype(np.int64)
    out = out.reshape(x.shape[:-1] + (node.weight.shape[0],))
    return out + node.bias if node.bias is not None else out


def _pad(x, pads, value):
    nd = len(pads) // 2
    widths = [(0, 0), (0, 0)] + [(pads[i], pads[i + nd]) for i in range(nd)]
    return np.pad(x, widths, constant_values=value)


def windows(x, kernel, strides, dilations, first=2):
    """Sliding windows (a view) over the spatial axes of x starting at axis `first`: (N, C, *spatial) ->
    (N, C, *out, *kernel); with first=1, channels last: (N, *spatial, C) -> (N, *out, C, *kernel)."""
    nd = len(kernel)
    spans = [(k - 1) * d + 1 for k, d in zip(kernel, dilations)]
    axes = tuple(range(first, first + nd))
    v = np.lib.stride_tricks.sliding_window_view(x, spans, axis=axes)
    index = [slice(None)] * x.ndim
    for axis, s in zip(axes, strides):
        index[axis] = slice(None, None, s)
    index += [slice(None, None, d) for d in dilations]
    return v[tuple(index)]


def _conv(node: ir.Conv, x):
    nd = node.weight.ndim - 2
    oc, cg = node.weight.shape[:2]
    g, kernel = node.group, node.weight.shape[2:]
    if cg == 1 and oc == g:  # depthwise: one product per kernel tap, summed elementwise in int64
        return _depthwise(node, x)
    dtype = exact_dtype(magnitude(x, node.pad_value), node.weight)
    # channels last, in the compute dtype, so every window row is (taps, channels) with channels contiguous
    last = np.ascontiguousarray(np.moveaxis(_pad(x, node.pads, node.pad_value), 1, -1), dtype=dtype)
    win = windows(last, kernel, node.strides, node.dilations, first=1)  # (N, *out, C, *kernel)
    n, out_sp = win.shape[0], win.shape[1 : 1 + nd]
    taps = int(np.prod(kernel))
    cols = win.transpose((0,) + tuple(range(1, 1 + nd)) + tuple(range(2 + nd, 2 + 2 * nd)) + (1 + nd,))
    rows = n * int(np.prod(out_sp))
    # weight (OC, C/g, *k) -> per group (taps * C/g, OC/g), rows in the order of the columns (tap major)
    w = np.moveaxis(node.weight.reshape(g, oc // g, cg, taps), 1, -1).transpose(0, 2, 1, 3).reshape(g, taps * cg, -1)
    if g == 1:
        out = _matmul(cols.reshape(rows, taps * cg), w[0], dtype)
    else:
        grouped = cols.reshape(rows, taps, g, cg).transpose(2, 0, 1, 3).reshape(g, rows, taps * cg)
        out = _matmul(grouped, w, dtype).transpose(1, 0, 2).reshape(rows, oc)
    out = np.moveaxis(out.reshape((n,) + tuple(out_sp) + (oc,)), -1, 1).astype(np.int64, order="C")
    if node.bias is not None:
        out = out + node.bias.reshape((1, oc) + (1,) * nd)
    return out


def _depthwise(node: ir.Conv, x):
    """A convolution with one input and one output channel per group: the sum over kernel taps of the shifted
    input times that tap's weight per channel (int64 throughout: exact modulo 2**64 whatever the order)."""
    nd = node.weight.ndim - 2
    kernel = node.weight.shape[2:]
    win = windows(_pad(x, node.pads, node.pad_value), kernel, node.strides, node.dilations)  # (N, C, *out, *k)
    out = np.zeros(win.shape[: 2 + nd], dtype=np.int64)
    for tap in np.ndindex(*kernel):
        w = node.weight[(slice(None), 0) + tap].reshape((1, -1) + (1,) * nd)
        out += win[(Ellipsis,) + tap] * w
    if node.bias is not None:
        out = out + node.bias.reshape((1, -1) + (1,) * nd)
    return out


def _threshold(node: ir.Threshold, x):
    y, thresholds = _narrow(x * node.sign, node.thresholds)
    levels = thresholds.shape[-1]
    if levels > 64:  # sorted thresholds per element: a binary search instead of one comparison per level
        return _threshold_search(thresholds, y, node.base)
    count = np.zeros(y.shape, dtype=np.uint8)
    for level in range(levels):
        count += y >= thresholds[..., level]
    out = count.astype(np.int64)
    out += node.base
    return out


def _narrow(y: np.ndarray, thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """y and thresholds in the narrowest integer type holding y's range: thresholds are clipped to
    [min(y), max(y) + 1] first, which changes no comparison y >= t (fewer bytes per comparison, same counts)."""
    if not y.size:
        return y, thresholds
    lo, hi = int(y.min()), int(y.max())
    for dtype in (np.int16, np.int32):
        info = np.iinfo(dtype)
        if info.min <= lo and hi + 1 <= info.max:
            return y.astype(dtype), np.clip(thresholds, lo, hi + 1).astype(dtype)
    return y, thresholds


def _threshold_search(thresholds: np.ndarray, y: np.ndarray, base: int) -> np.ndarray:
    """base + the number of thresholds <= y, per element; thresholds[..., :] is sorted and broadcasts over y."""
    params = thresholds.shape[:-1]
    lead = y.ndim - len(params)  # the batch axis (and any axis the parameters do not have)
    out = np.empty(y.shape, dtype=np.int64)
    for index in np.ndindex(*params):
        where = (slice(None),) * lead + tuple(slice(None) if n == 1 else i for n, i in zip(params, index))
        out[where] = base + np.searchsorted(thresholds[index], y[where], side="right")
    return out


def _maxpool(node: ir.MaxPool, x):
    y = x * node.sign
    floor = np.iinfo(np.int64).min // 2
    win = windows(_pad(y, node.pads, floor), node.kernel, node.strides, node.dilations)
    return _reduce_taps(np.maximum, win, len(node.kernel)) * node.sign


def _sumpool(node: ir.SumPool, x):
    nd = len(node.kernel)
    win = windows(_pad(x, node.pads, node.pad_value), node.kernel, node.strides, (1,) * nd)
    return _reduce_taps(np.add, win, nd)


def _reduce_taps(ufunc: np.ufunc, win: np.ndarray, nd: int) -> np.ndarray:
    """ufunc reduced over the last nd (window) axes of int64 windows: one elementwise pass per tap for small
    windows (contiguous rows), numpy's reduction for large ones (a global pool). Max, and int64 sums modulo 2**64,
    are the same in any order."""
    taps = list(np.ndindex(*win.shape[-nd:]))
    if len(taps) > 16:
        return ufunc.reduce(win, axis=tuple(range(-nd, 0)))
    out = np.array(win[(Ellipsis,) + taps[0]])
    for tap in taps[1:]:
        ufunc(out, win[(Ellipsis,) + tap], out=out)
    return out


def _add(node: ir.Add, a, b):
    return node.scale0 * a + node.scale1 * b


def _concat(node: ir.Concat, *xs):
    return np.concatenate(xs, axis=node.axis + 1)


def _reshape(node: ir.Reshape, x):
    return x.reshape((x.shape[0],) + node.shape)


def _transpose(node: ir.Transpose, x):
    return x.transpose((0,) + tuple(p + 1 for p in node.perm))


EXECUTORS = {  # one exact int64 implementation per IR op
    ir.Dense: _dense,
    ir.Conv: _conv,
    ir.Threshold: _threshold,
    ir.MaxPool: _maxpool,
    ir.SumPool: _sumpool,
    ir.Add: _add,
    ir.Concat: _concat,
    ir.Reshape: _reshape,
    ir.Transpose: _transpose,
}
