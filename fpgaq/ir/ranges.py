"""Accumulator ranges of the IR's dot products, per output channel, and the widths each bound asks for.

The math is fpgaq.bounds' (docs/algorithms.md#accumulator-bounds); this module applies it to IR nodes and
remembers the result per (frozen) node, since the passes and the report ask for the same ranges.
"""

from __future__ import annotations

import weakref

import numpy as np

from fpgaq.bounds import a2q_plus_bits, bits_for_range, datatype_bound_bits, l1_bound_bits, prefix_range
from fpgaq.ir import graph as ir
from fpgaq.ir.types import IntType


def weight_rows(node) -> np.ndarray:
    """[OC, K] rows in the IR's order (a conv row is [IC/g, KH, KW]); the untiled range does not depend on the
    order, the hardware's tiles do (fpgaq.plan.planner sizes those with fpgaq.bounds.tiled_ranges)."""
    return node.weight.reshape(node.weight.shape[0], -1)


def channel_ranges(node, in_tensor: ir.Tensor):
    """Per output channel (lo, hi) of the accumulator, bias included (remembered per frozen node)."""
    key = (in_tensor.lo, in_tensor.hi)
    known = _RANGES.setdefault(node, {})
    if key not in known:
        known[key] = prefix_range(weight_rows(node), in_tensor.lo, in_tensor.hi, node.bias)
    los, his = known[key]
    return list(los), list(his)


_RANGES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def bound_widths(node, in_tensor: ir.Tensor) -> dict:
    """The widths each bound asks for: data-type, A2Q l1, A2Q+ (zero-centred) and exact."""
    rows = weight_rows(node)
    k = rows.shape[1]
    in_type = in_tensor.dtype
    l1 = int(np.abs(rows).sum(axis=1).max(initial=0))
    los, his = channel_ranges(node, in_tensor)
    exact_sym = bits_for_range(min(los), max(his), symmetric=True)
    return {
        "acc_bits_exact": IntType.for_range(min(los), max(his)).bits,
        "acc_bits_exact_symmetric": exact_sym,
        "acc_bits_l1": l1_bound_bits(l1, in_type.bits, in_type.signed),
        "acc_bits_a2q_plus": a2q_plus_bits(l1, in_type.bits),
        "acc_bits_datatype": datatype_bound_bits(k, in_type.bits, node.weight_type.bits, in_type.signed),
    }
