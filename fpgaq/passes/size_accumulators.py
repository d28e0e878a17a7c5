"""SizeAccumulators: every dot product's accumulator gets the exact range of its integer weights, input type
and integer bias (shared/ALGORITHMS.md section 1), unsigned when the range is non-negative."""

from __future__ import annotations

import dataclasses
import weakref

import numpy as np

from fpgaq.bounds import (
    a2q_plus_bits,
    bits_for_range,
    datatype_bound_bits,
    l1_bound_bits,
    prefix_range,
    tile_prefix_range,
)
from fpgaq.ir import graph as ir
from fpgaq.ir.types import IntType


def weight_rows(node) -> np.ndarray:
    """[OC, K] rows in the hardware's K order (a conv row is [IC/g, KH, KW], input-channel major)."""
    return node.weight.reshape(node.weight.shape[0], -1)


def channel_ranges(node, in_tensor: ir.Tensor, tile: int | None = None):
    """Per output channel (lo, hi) of the running accumulator (tile = SIMD: the outer register).

    Remembered per (frozen) node and input range: the passes and the report ask for the same ranges.
    """
    key = (in_tensor.lo, in_tensor.hi, tile)
    known = _RANGES.setdefault(node, {})
    if key not in known:
        known[key] = prefix_range(weight_rows(node), in_tensor.lo, in_tensor.hi, node.bias, tile)
    los, his = known[key]
    return list(los), list(his)


_RANGES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def tile_ranges(node, in_tensor: ir.Tensor, tile: int):
    """Per output channel (lo, hi) of the partial sums inside one SIMD tile (the inner adder's register)."""
    return tile_prefix_range(weight_rows(node), in_tensor.lo, in_tensor.hi, tile)


def exact_type(node, in_tensor: ir.Tensor) -> tuple[IntType, int, int]:
    los, his = channel_ranges(node, in_tensor)
    lo, hi = min(los), max(his)
    return IntType.for_range(lo, hi), lo, hi


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


class SizeAccumulators:
    """Set every Dense/Conv output tensor to the exact accumulator range (idempotent)."""

    def run(self, graph: ir.Graph) -> ir.Graph:
        tensors = dict(graph.tensors)
        for node in graph.nodes:
            if isinstance(node, ir.DOT_PRODUCT_OPS):
                dtype, lo, hi = exact_type(node, tensors[node.inputs[0]])
                tensors[node.output] = dataclasses.replace(tensors[node.output], dtype=dtype, lo=lo, hi=hi)
        return dataclasses.replace(graph, tensors=tensors)
