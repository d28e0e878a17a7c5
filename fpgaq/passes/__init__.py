"""IR -> IR rewrites, one per module. A pass is an object with `run(graph) -> graph`; it never mutates."""

from __future__ import annotations

from fpgaq.passes.clip_thresholds import ClipThresholds

DEFAULT_PASSES = (ClipThresholds(),)


def run_passes(graph, passes=DEFAULT_PASSES):
    for p in passes:
        graph = p.run(graph)
    return graph
