"""Stream widths (elements per word): the rules the planner builds with, in one place, so that the folding
search (fpgaq.estimate.search) predicts exactly the widths the planner will choose."""

from __future__ import annotations

import math

import numpy as np

from fpgaq.ir import graph as ir
from fpgaq.plan import layout


def fusable(graph: ir.Graph) -> dict:
    """Thresholds that fold into the matrix-vector unit producing their input: {dot layer: (threshold node,
    the threshold row of each output channel)}. Possible when the threshold is the accumulator's only reader
    and its parameters repeat with the unit's output channels."""
    uses: dict[str, int] = {}
    for node in graph.nodes:
        for name in node.inputs:
            uses[name] = uses.get(name, 0) + 1
    fused = {}
    for node in graph.nodes:
        producer = graph.producer(node.inputs[0])
        if not isinstance(node, ir.Threshold) or not isinstance(producer, ir.DOT_PRODUCT_OPS):
            continue
        if uses[node.inputs[0]] != 1 or node.inputs[0] == graph.output.tensor:
            continue
        shape = graph.tensors[node.inputs[0]].shape
        order = layout.channels_last(shape) if isinstance(producer, ir.Conv) else layout.identity(shape)
        channels = producer.weight.shape[0]
        index = layout.param_index(node.sign.shape, shape, order)
        if np.array_equal(index, np.tile(index[:channels], len(index) // channels)):
            fused[producer.name] = (node, index[:channels])
    return fused


def pack_for(num: int, bits: int, prefer: int | None = None) -> int:
    """Elements per AXI-Stream word (at most 64 bits): a divisor of num, sharing the largest factor with the
    width `prefer` of the kernel on the other side (so the width converter moves that many per cycle), then
    the largest."""
    fits = [d for d in layout.divisors(num) if d * bits <= 64 or d == 1]
    return max(fits, key=lambda d: (math.gcd(d, prefer) if prefer else 0, d))


def pool_lanes(in_width: int, channels: int) -> int:
    """Pooling takes words of a divisor of the channels (pool.h)."""
    return math.gcd(in_width, channels)


def input_width(graph: ir.Graph, folding: dict, tensor: str | None = None) -> int | None:
    """The width in which the graph input's only reader takes it (the SIMD of a first dense layer), else None."""
    tensor = graph.input.tensor if tensor is None else tensor
    users = [n for n in graph.nodes if tensor in n.inputs]
    if len(users) != 1:
        return None
    node = users[0]
    if isinstance(node, ir.Dense):
        return folding[node.name][1]
    if isinstance(node, (ir.Reshape, ir.Transpose)):
        return input_width(graph, folding, node.output)
    return None


def stream_width(graph: ir.Graph, tensor: str, folding: dict, fused: dict) -> int | None:
    """Elements per word of the stream carrying `tensor` as the planner builds it; None for the graph input
    (its packing follows its reader: pack_for)."""
    node = graph.producer(tensor)
    if node is None:
        return None
    if isinstance(node, ir.DOT_PRODUCT_OPS):
        return folding[node.name][0]
    if isinstance(node, ir.Threshold):
        producer = graph.producer(node.inputs[0])
        if producer is not None and producer.name in fused:
            return folding[producer.name][0]
        return stream_width(graph, node.inputs[0], folding, fused)
    if isinstance(node, (ir.Reshape, ir.Transpose)):
        return stream_width(graph, node.inputs[0], folding, fused)
    if isinstance(node, (ir.MaxPool, ir.SumPool)):
        src = stream_width(graph, node.inputs[0], folding, fused)
        return pool_lanes(src if src is not None else 1, graph.tensors[node.inputs[0]].shape[0])
    return 1
