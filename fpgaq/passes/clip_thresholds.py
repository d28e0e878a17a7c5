"""ClipThresholds: thresholds are clipped to the range their input can reach, per channel where the input is
a dot product's accumulator, so that a threshold outside the range (always or never crossed) costs no bits."""

from __future__ import annotations

import dataclasses

import numpy as np

from fpgaq.ir import graph as ir
from fpgaq.ir.ranges import channel_ranges


def input_ranges(graph: ir.Graph, node: ir.Threshold):
    """(lo, hi) arrays broadcastable to the threshold's input tensor: per channel after a dot product (the
    planner's requantizers are proven on the same ranges)."""
    src = graph.tensors[node.inputs[0]]
    producer = graph.producer(node.inputs[0])
    if isinstance(producer, ir.DOT_PRODUCT_OPS):
        los, his = channel_ranges(producer, graph.tensors[producer.inputs[0]])
        rank = len(src.shape)
        shape = (len(los),) + (1,) * (rank - 1) if isinstance(producer, ir.Conv) else (1,) * (rank - 1) + (len(los),)
        return np.array(los, dtype=np.int64).reshape(shape), np.array(his, dtype=np.int64).reshape(shape)
    rank = len(src.shape)
    return np.full((1,) * rank, src.lo, dtype=np.int64), np.full((1,) * rank, src.hi, dtype=np.int64)


class ClipThresholds:
    def run(self, graph: ir.Graph) -> ir.Graph:
        nodes = []
        for node in graph.nodes:
            if isinstance(node, ir.Threshold):
                lo, hi = input_ranges(graph, node)
                shape = np.broadcast_shapes(node.sign.shape, lo.shape)
                sign = np.broadcast_to(node.sign, shape)
                lo, hi = np.broadcast_to(lo, shape), np.broadcast_to(hi, shape)
                low = np.where(sign > 0, lo, -hi)[..., None]  # range of sign * x
                high = np.where(sign > 0, hi, -lo)[..., None]
                levels = np.broadcast_to(node.thresholds, shape + node.thresholds.shape[-1:])
                clipped = np.clip(levels, low, high + 1)
                node = dataclasses.replace(node, thresholds=ir.frozen_array(clipped), sign=ir.frozen_array(sign))
            nodes.append(node)
        return dataclasses.replace(graph, nodes=tuple(nodes))
