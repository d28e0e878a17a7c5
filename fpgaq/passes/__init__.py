"""IR -> IR rewrites, one per module. A pass is an object with `run(graph) -> graph`; it never mutates."""

from __future__ import annotations

from fpgaq.passes.clip_thresholds import ClipThresholds
from fpgaq.passes.size_accumulators import SizeAccumulators

DEFAULT_PASSES = (SizeAccumulators(), ClipThresholds())


def run_passes(graph, passes=DEFAULT_PASSES):
    for p in passes:
        graph = p.run(graph)
    return graph
