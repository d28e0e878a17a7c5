"""The golden model: an exact int64 numpy executor over the IR."""

from __future__ import annotations

import numpy as np

from fpgaq.ir import graph as ir
from fpgaq.ir.hostio import dequantize_output, quantize_input

_EXACT_FLOAT = 2**52  # integer sums below this are exact in float64 (fast BLAS path)


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


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Exact int64 matrix product a @ b, through float64 BLAS when no partial sum can reach 2**52."""
    bound = int(np.abs(a).max(initial=0)) * int(np.abs(b).sum(axis=-2).max(initial=0))
    if bound < _EXACT_FLOAT:
        return np.rint(a.astype(np.float64) @ b.astype(np.float64)).astype(np.int64)
    return a @ b


def _dense(node: ir.Dense, x):
    out = _dot(x, node.weight.T)
    return out + node.bias if node.bias is not None else out


def _pad(x, pads, value):
    nd = len(pads) // 2
    widths = [(0, 0), (0, 0)] + [(pads[i], pads[i + nd]) for i in range(nd)]
    return np.pad(x, widths, constant_values=value)


def windows(x, kernel, strides, dilations):
    """Sliding windows of x (N, C, *spatial) -> (N, C, *out, *kernel)."""
    nd = len(kernel)
    spans = [(k - 1) * d + 1 for k, d in zip(kernel, dilations)]
    axes = tuple(range(2, 2 + nd))
    v = np.lib.stride_tricks.sliding_window_view(x, spans, axis=axes)
    index = (slice(None), slice(None))
    index += tuple(slice(None, None, s) for s in strides)
    index += tuple(slice(None, None, d) for d in dilations)
    return v[index]


def _conv(node: ir.Conv, x):
    nd = node.weight.ndim - 2
    win = windows(_pad(x, node.pads, node.pad_value), node.weight.shape[2:], node.strides, node.dilations)
    n, c = win.shape[:2]
    out_sp = win.shape[2 : 2 + nd]
    g = node.group
    k = int(np.prod(node.weight.shape[2:]))
    # (N, C, *out, *k) -> (N, g, P, C/g * K), input-channel major like the weight rows
    win = np.moveaxis(win.reshape(n, c, -1, k), 1, 2).reshape(n, -1, g, (c // g) * k).transpose(0, 2, 1, 3)
    oc = node.weight.shape[0]
    w = node.weight.reshape(g, oc // g, -1)
    out = np.concatenate([_dot(win[:, j], w[j].T) for j in range(g)], axis=-1)  # (N, P, OC)
    out = np.moveaxis(out, -1, 1).reshape((n, oc) + tuple(out_sp))
    if node.bias is not None:
        out = out + node.bias.reshape((1, oc) + (1,) * nd)
    return out


def _threshold(node: ir.Threshold, x):
    y = x * node.sign
    levels = node.thresholds.shape[-1]
    if levels > 64:  # sorted thresholds per element: a binary search instead of one comparison per level
        return _threshold_search(node.thresholds, y, node.base)
    out = np.full(x.shape, node.base, dtype=np.int64)
    for level in range(levels):
        out += y >= node.thresholds[..., level]
    return out


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
    nd = len(node.kernel)
    return win.max(axis=tuple(range(-nd, 0))) * node.sign


def _sumpool(node: ir.SumPool, x):
    nd = len(node.kernel)
    win = windows(_pad(x, node.pads, node.pad_value), node.kernel, node.strides, (1,) * nd)
    return win.sum(axis=tuple(range(-nd, 0)))


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
