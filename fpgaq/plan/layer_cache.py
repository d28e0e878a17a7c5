"""What planning a dot-product layer computes that does not depend on its whole folding, remembered per layer.

A plan asks once per layer; the folding search (fpgaq.estimate.search) asks for every candidate (PE, SIMD) and
input width of every layer. The exact ranges of the two accumulator registers depend on the weights in the
order the hardware reads them, the input range and the SIMD width only: they are computed once per (layer,
column order, input range, SIMD), from the running sums of the layer (fpgaq.bounds.running_sums), computed once
per layer and input range. Whether the weights are bipolar and the type of their table do not depend on the
folding at all.
"""

from __future__ import annotations

import weakref

import numpy as np

from fpgaq.bounds import ranges_of_running_sums, running_sums
from fpgaq.ir.types import IntType
from fpgaq.plan.tables import table_type

# node -> {(columns, lo, hi): {simd: ((outer lo, outer hi), (inner lo, inner hi))}}
_RANGES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_FACTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # node -> (bipolar, table type)
_ROWS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # conv node -> its weight rows
_SUMS: dict = {}  # the running sums of the layer asked last: {(id(node), columns, lo, hi): sums}, one entry


def tiled_ranges_of(node, rows: np.ndarray, columns: bytes, lo: int, hi: int, simd: int):
    """fpgaq.bounds.tiled_ranges(rows, lo, hi, node.bias, simd) for `rows`, the weights of the frozen IR `node` in
    the column order named by `columns` (the same bytes for the same order)."""
    key = (columns, int(lo), int(hi))
    known = _RANGES.setdefault(node, {}).setdefault(key, {})
    if simd not in known:
        sums_key = (id(node), *key)
        if sums_key not in _SUMS:
            _SUMS.clear()  # the search weighs one layer at a time: keep one layer's sums, not the network's
            _SUMS[sums_key] = (node, running_sums(rows, lo, hi, node.bias))
        known[simd] = ranges_of_running_sums(_SUMS[sums_key][1], node.bias, simd)
    return known[simd]


def weight_facts(node, rows: np.ndarray) -> tuple[bool, IntType]:
    """(whether every weight is +-1, the type of the weight table: 0/1 bits when bipolar) of the frozen IR
    `node` whose weights, in any order, are `rows`."""
    if node not in _FACTS:
        bipolar = rows.size > 0 and bool(np.all(np.abs(rows) == 1))
        _FACTS[node] = (bipolar, table_type((rows > 0).astype(np.int64) if bipolar else rows, node.name))
    return _FACTS[node]


def conv_rows(node) -> np.ndarray:
    """A convolution's weights as rows [OC, KH * KW * IC/g], columns in the window's order (kh, kw, then the
    group's input channels); read-only."""
    if node not in _ROWS:
        rows = np.moveaxis(node.weight, 1, -1).reshape(node.weight.shape[0], -1)
        rows.setflags(write=False)
        _ROWS[node] = rows
    return _ROWS[node]
