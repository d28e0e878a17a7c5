"""Folding search: PE/SIMD per dot-product layer for a target frame rate on a board.

For a cycle budget T per frame (clock / target FPS), every dot-product layer independently takes the valid
(PE, SIMD) whose cycles - its matrix-vector unit, its sliding window, the width conversion into it and the
standalone threshold after it - are at most T and whose resources, as fractions of the board's, sum to the
least. Costs add up and the frame rate is set by the slowest kernel, so this is the cheapest folding for T,
and every layer runs close to T (a balanced pipeline). The result is then planned and estimated in full
(plan_costs), which decides whether it reaches T and fits the board. Without a target, the smallest T that
fits is found by bisection over the cycle counts the candidates can take.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from fpgaq.boards import Board
from fpgaq.errors import FpgaqError
from fpgaq.estimate import models
from fpgaq.estimate.costs import kernel_cost
from fpgaq.estimate.fit import DEFAULT_MAX_UTILIZATION, format_limit, percent, within
from fpgaq.estimate.placement import place_weights
from fpgaq.estimate.plan_costs import RESOURCES, estimate_plan
from fpgaq.ir import graph as ir
from fpgaq.plan import widths
from fpgaq.plan.folding import fold_limits, resolve_folding
from fpgaq.plan.kernels import Fork
from fpgaq.plan.layout import divisors
from fpgaq.plan.planner import layer_kernels, make_plan, output_kernels, window_kernels

__all__ = ["MAX_UTILIZATION", "FoldingSearchError", "SearchResult", "check_fits", "search_folding"]

MAX_UTILIZATION = DEFAULT_MAX_UTILIZATION  # the search's limit per resource unless --max-utilization sets one


class FoldingSearchError(FpgaqError):
    """No folding reaches the target frame rate within the board."""


@dataclass
class Candidate:
    pe: int
    simd: int
    cycles: int
    cost: models.Cost
    score: float
    limit: str  # the kernel that sets `cycles`


@dataclass
class SearchResult:
    folding: dict
    plan: object
    estimate: dict
    target_cycles: int | None
    note: str | None = None  # why the default folding was kept instead of the search's


def _slowest(kernels, layer: str) -> tuple[int, str]:
    """(cycles, what it is) of the slowest of the kernels the planner builds for `layer`."""
    return max(((kernel_cost(k).cycles, _what(k, layer)) for k in kernels), default=(0, ""))


def _what(kernel, layer: str) -> str:
    if kernel.kind == "dwc":
        return f"the width converter into {layer!r}"
    if kernel.kind in ("mvu", "swg"):
        return f"{kernel.kind} of {layer!r}"
    return f"{kernel.kind} {layer!r}"


class _Layers:
    """What the search needs of each dot-product layer: the kernels the planner builds for a candidate folding
    (fpgaq.plan.planner.layer_kernels) and the kernels downstream whose speed depends on it."""

    def __init__(self, graph: ir.Graph, board: Board, max_utilization, weight_memory: str = "auto"):
        self.graph = graph
        self.board = board
        self.weight_memory = weight_memory
        self.max_utilization = Fraction(max_utilization)
        self.limit = {r: getattr(board, r) * self.max_utilization for r in RESOURCES}  # exact: fits or not
        self.weights = {r: float(self.limit[r]) for r in RESOURCES}  # the score's: which candidate is cheaper
        self.partial: dict = {}
        self.nodes = [n for n in graph.nodes if isinstance(n, ir.DOT_PRODUCT_OPS)]
        self.fused = widths.fusable(graph)
        self.consumers: dict[str, list] = {}
        for node in graph.nodes:
            for name in node.inputs:
                self.consumers.setdefault(name, []).append(node)
        self._built: dict = {}
        self._down: dict = {}
        self._candidates: dict = {}

    def numel(self, tensor: str) -> int:
        return int(np.prod(self.graph.tensors[tensor].shape))

    def _layer(self, node, pe: int, simd: int, in_width: int) -> tuple[models.Cost, tuple[int, str], int]:
        """(the summed cost, the slowest (cycles, what), the output width) of the layer's own kernels at a
        candidate folding - kept instead of the kernels, whose tables would hold a copy of the weights each."""
        key = (node.name, pe, simd, in_width)
        if key not in self._built:
            kernels, out_width = layer_kernels(self.graph, node, {node.name: (pe, simd)}, in_width, self.fused)
            own = [kernel for kernel in kernels if not isinstance(kernel, Fork)]
            cost = sum((kernel_cost(kernel, self.board.device) for kernel in own), models.Cost())
            self._built[key] = (cost, _slowest(own, node.name), out_width)
        return self._built[key]

    def candidates(self, node, folding: dict, cycles_max: int | None) -> list[Candidate]:
        """Valid (PE, SIMD) of `node` given the layers before it, cheapest first, within cycles_max."""
        producer_width = widths.stream_width(self.graph, node.inputs[0], folding, self.fused)
        key = (node.name, producer_width)
        if key not in self._candidates:  # every bisection step asks again, with another cycles_max
            self._candidates[key] = self._all_candidates(node, producer_width)
        return [c for c in self._candidates[key] if cycles_max is None or c.cycles <= cycles_max]

    def _all_candidates(self, node, producer_width: int | None) -> list[Candidate]:
        """Valid (PE, SIMD) of `node` read at producer_width (None: the graph input), cheapest first."""
        src = self.graph.tensors[node.inputs[0]]
        oc, k = fold_limits(node)
        result = []
        for pe in divisors(oc):
            for simd in divisors(k):
                in_width = producer_width
                if in_width is None:  # the planner packs the graph input for a first dense layer's SIMD
                    prefer = None if isinstance(node, ir.Conv) else simd
                    in_width = widths.pack_for(self.numel(node.inputs[0]), src.dtype.bits, prefer)
                cost, slowest, out_width = self._layer(node, pe, simd, in_width)
                produced = self.fused[node.name][0].output if node.name in self.fused else node.output
                cycles = [slowest] + self._downstream(produced, out_width)
                cycles_total, limit = max(cycles)
                score = self.score(cost)
                if score is not None:
                    result.append(Candidate(pe, simd, cycles_total, cost, score, limit))
        return sorted(result, key=lambda c: (c.score, c.cycles, c.pe * c.simd))

    def _downstream(self, tensor: str, width: int) -> list[tuple[int, str]]:
        """The slowest kernels that read `tensor` at the producer's width: standalone thresholds and pooling
        (through reshapes and transposes), the next sliding window, the output's width converters (remembered:
        every candidate of a layer with the same output width asks the same)."""
        key = (tensor, width)
        if key not in self._down:
            self._down[key] = self._downstream_of(tensor, width)
        return self._down[key]

    def _downstream_of(self, tensor: str, width: int) -> list[tuple[int, str]]:
        cycles = []
        if tensor == self.graph.output.tensor:
            converters = output_kernels(self.graph, width)
            if converters:
                cycles.append((_slowest(converters, "output")[0], "the output packer"))
        for user in self.consumers.get(tensor, []):
            if isinstance(user, ir.Conv):  # the next sliding window reads its frame at this width
                limits = fold_limits(user)
                pes = divisors(limits[0]) if user.depthwise else [1]  # a depthwise window's lanes are its PE
                options = [window_kernels(self.graph, user, width, pe, simd) for pe in pes
                           for simd in divisors(limits[1])]  # fmt: skip
                fastest = min(_slowest([k for k in kernels if k.kind == "swg"], user.name)[0] for kernels in options)
                cycles.append((fastest, f"swg of {user.name!r}"))
            elif isinstance(user, (ir.Threshold, ir.Reshape, ir.Transpose, ir.MaxPool, ir.SumPool)):
                kernels, out_width = layer_kernels(self.graph, user, {}, width, self.fused)
                if kernels:
                    cycles.append(_slowest(kernels, user.name))
                cycles += self._downstream(user.output, out_width)
        return cycles

    def score(self, cost: models.Cost) -> float | None:
        return resource_score(cost.asdict(), self.weights)

    def cheapest(self, cycles_max: int) -> tuple[dict | None, object]:
        """(the cheapest folding with every dot-product layer within cycles_max, None) or (None, the first layer
        that no folding brings within cycles_max)."""
        folding: dict = {}
        for node in self.nodes:
            found = self.candidates(node, folding, cycles_max)
            if not found:
                self.partial = folding  # the layers before `node`, for the error message
                return None, node
            folding[node.name] = (found[0].pe, found[0].simd)
        return folding, None

    def cycle_values(self) -> list[int]:
        """Every cycle count a layer can take (the bisection's search space), ascending."""
        values = set()
        folding = {}
        for node in self.nodes:
            found = self.candidates(node, folding, None)
            values.update(c.cycles for c in found)
            folding[node.name] = (found[-1].pe, found[-1].simd) if found else (1, 1)
        return sorted(values)


def resource_score(used: dict, limit: dict) -> float | None:
    """Resources as a sum of fractions of what the board allows; None if it lacks a resource that is needed.
    The search minimises this: on a PYNQ-Z2 one BRAM18 weighs as much as 190 LUTs."""
    total = 0.0
    for r in RESOURCES:
        if used[r] and not limit[r]:
            return None
        total += used[r] / limit[r] if used[r] else 0.0
    return total


def _evaluate(layers: _Layers, folding: dict | None, overrides: dict | None, clock_ns: float):
    """(folding, plan, estimate) of `folding` (None: the default) with the user's overrides."""
    fold = resolve_folding(layers.graph, overrides, base=folding)
    plan = place_weights(make_plan(layers.graph, fold, layers.fused), layers.board, layers.weight_memory,
                         layers.max_utilization)  # fmt: skip
    return fold, plan, estimate_plan(plan, layers.board, clock_ns)


def _overused(estimate: dict, limit: dict) -> list[str]:
    return [r for r in RESOURCES if estimate["totals"][r] > limit[r]]


def _fastest_fitting(layers: _Layers, overrides, clock_ns) -> SearchResult | None:
    values = layers.cycle_values()
    best = None
    lo, hi = 0, len(values) - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        folding, _ = layers.cheapest(values[mid])
        fits = False
        if folding is not None:
            fold, plan, est = _evaluate(layers, folding, overrides, clock_ns)
            fits = not _overused(est, layers.limit)
            if fits:
                best = SearchResult(fold, plan, est, values[mid])
        if fits:
            hi = mid - 1
        else:
            lo = mid + 1
    if best is not None and best.estimate["totals"]["cycles_per_frame"] > best.target_cycles:
        # a kernel that folding cannot speed up sets the pace: fold the other layers only as far as needed
        ii = best.estimate["totals"]["cycles_per_frame"]
        folding, _ = layers.cheapest(ii)
        if folding is not None:
            fold, plan, est = _evaluate(layers, folding, overrides, clock_ns)
            if not _overused(est, layers.limit) and est["totals"]["cycles_per_frame"] <= ii:
                best = SearchResult(fold, plan, est, ii)
    return best


def _describe(estimate: dict, board: Board, resources: list[str], limit=Fraction(1)) -> str:
    """'BRAM18 533 of 624 (85.4%)' per resource, the percentage with the digits it needs to read on the right side
    of `limit` (fpgaq.estimate.fit.percent)."""
    parts = []
    for r in resources:
        used, capacity = estimate["totals"][r], getattr(board, r)
        parts.append(f"{r.upper()} {used:,} of {capacity:,} ({percent(used, capacity, limit)})" if capacity
                     else f"{used:,} {r}")  # fmt: skip
    return ", ".join(parts)


def largest_needs(estimate: dict, board: Board, resources: list[str], limit=Fraction(1)) -> str:
    """Each resource's total against the board and the kernel that needs the most of it."""
    parts = []
    for r in resources:
        top = max(estimate["kernels"], key=lambda row: row[r])
        parts.append(f"{_describe(estimate, board, [r], limit)}, the most for {top['kernel']} of {top['layer']!r} "
                     f"({top[r]:,})")  # fmt: skip
    return "; ".join(parts)


def check_fits(
    graph: ir.Graph, estimate: dict, board: Board, clock_ns: float, weight_memory: str = "auto"
) -> str | None:
    """None when the estimate fits the board; a warning when it does not but the slowest folding (PE = SIMD = 1
    everywhere) would; FoldingSearchError when not even that fits, naming each resource, its need against the
    board's capacity and the kernel that needs the most."""
    over = [r for r in RESOURCES if not within(estimate["totals"][r], getattr(board, r))]
    if not over:
        return None
    slowest = {n.name: (1, 1) for n in graph.nodes if isinstance(n, ir.DOT_PRODUCT_OPS)}
    floor = estimate_plan(place_weights(make_plan(graph, slowest), board, weight_memory), board, clock_ns)
    never = [r for r in RESOURCES if not within(floor["totals"][r], getattr(board, r))]
    if never:
        raise FoldingSearchError(
            f"the design does not fit {board.name} even at the slowest folding (PE = SIMD = 1): "
            f"{largest_needs(floor, board, never)}"
        )
    return (f"the design does not fit {board.name} at this folding: {largest_needs(estimate, board, over)}; "
            "a slower folding fits (--target-fps max finds the fastest that does)")  # fmt: skip


def _excess(estimate: dict, layers: _Layers) -> Fraction:
    """The most any resource needs as a fraction of what the search allows (above 1: over the limit)."""
    worst = Fraction(0)
    for r in RESOURCES:
        used = estimate["totals"][r]
        if used:
            worst = max(worst, used / layers.limit[r] if layers.limit[r] else Fraction(10**18))
    return worst


def _fits(result: SearchResult, layers: _Layers) -> bool:
    return not _overused(result.estimate, layers.limit)


def _costlier(result: SearchResult, default: SearchResult, layers: _Layers, cycles: int | None) -> str | None:
    """How the search's result is costlier than the default folding, or None when it is not. It is when the
    default fits the search's limit and reaches the target (without one: the result's frame rate), and the result
    does not fit, or (without a target) is slower, or weighs more in the sum the search minimises."""
    ii, ours = default.estimate["totals"]["cycles_per_frame"], result.estimate["totals"]["cycles_per_frame"]
    if not _fits(default, layers) or ii > (ours if cycles is None else cycles):
        return None
    if not _fits(result, layers):
        return f"does not fit within {format_limit(layers.max_utilization)}"
    if cycles is None and ii != ours:  # the fastest that fits: the faster of the two
        return "is slower" if ii < ours else None
    score = [resource_score(x.estimate["totals"], layers.weights) for x in (default, result)]
    if score[0] < score[1]:
        return f"needs more (a sum of resource fractions of {score[1]:.3f} against {score[0]:.3f})"
    return None


def _used(result: SearchResult) -> list[str]:
    return [r for r in RESOURCES if result.estimate["totals"][r]]


def _kept(default: SearchResult, layers: _Layers, why: str) -> SearchResult:
    t = default.estimate["totals"]
    return dataclasses.replace(default, note=(
        f"kept the default folding ({t['fps']:,.0f} FPS, within {format_limit(layers.max_utilization)} of "
        f"{layers.board.name}): {why}"))  # fmt: skip


def search_folding(
    graph: ir.Graph,
    board: Board,
    clock_ns: float,
    target_fps: float | None = None,
    overrides: dict | None = None,
    max_utilization=MAX_UTILIZATION,
    weight_memory: str = "auto",
) -> SearchResult:
    """The cheapest folding reaching target_fps on the board (None: the fastest folding that fits), each resource
    within max_utilization of the board (a fraction, compared exactly); never costlier than the default folding
    (with the same overrides), which it returns instead, saying why in the result's note.

    Raises FoldingSearchError naming the resource that runs out, or the kernel that no folding can speed up,
    with the best frame rate that fits.
    """
    layers = _Layers(graph, board, max_utilization, weight_memory)
    cycles = None
    if target_fps is not None:
        if not target_fps > 0:
            raise FoldingSearchError(f"target FPS must be positive, not {target_fps!r}")
        cycles = math.floor(1e9 / clock_ns / target_fps)
    fold, plan, est = _evaluate(layers, None, overrides, clock_ns)
    default = SearchResult(fold, plan, est, cycles)
    try:
        result = _search(layers, clock_ns, target_fps, overrides, default)
    except FoldingSearchError as exc:
        if cycles is None or cycles < 1 or not _fits(default, layers):
            raise
        if est["totals"]["cycles_per_frame"] > cycles:
            raise
        return _kept(default, layers, f"the search found no cheaper folding for {target_fps:,.0f} FPS ({exc})")
    if result is default:
        return _kept(default, layers, "the search found no folding within the limit")
    how = _costlier(result, default, layers, cycles)
    if how is not None:
        t = result.estimate["totals"]
        used = _describe(result.estimate, board, _used(result), layers.max_utilization)
        return _kept(default, layers, f"the search's folding ({t['fps']:,.0f} FPS, {used}) {how}")
    return result


def _search(layers: _Layers, clock_ns: float, target_fps, overrides, default: SearchResult) -> SearchResult:
    board, limit = layers.board, format_limit(layers.max_utilization)
    clock_hz = 1e9 / clock_ns
    best = _fastest_fitting(layers, overrides, clock_ns)
    if best is None and _fits(default, layers):
        best = default  # the bisection found none within the limit, but the default is: search_folding says so
    if best is None:
        fold, _, est = _evaluate(layers, layers.cheapest(10**18)[0] or {}, overrides, clock_ns)
        where = "even fully folded"
        if _excess(default.estimate, layers) < _excess(est, layers):  # name the folding that needs the least
            est, where = default.estimate, "at the default folding, which needs less than the most folded"
        raise FoldingSearchError(
            f"the design does not fit {board.name} {where}: "
            f"{largest_needs(est, board, _overused(est, layers.limit), layers.max_utilization)} "
            f"(the search keeps each resource within {limit} of the board)"
        )
    best_fps = best.estimate["totals"]["fps"]
    if target_fps is None:
        return best
    cycles = math.floor(clock_hz / target_fps)
    if cycles < 1:
        raise FoldingSearchError(
            f"{target_fps:,.0f} FPS is more than one frame per clock cycle at {clock_hz / 1e6:g} MHz; "
            f"the fastest folding that fits {board.name} reaches {best_fps:,.0f} FPS"
        )
    folding, slowest = layers.cheapest(cycles)
    if folding is None:
        fastest = min(layers.candidates(slowest, layers.partial, None), key=lambda c: c.cycles)
        raise FoldingSearchError(
            f"{target_fps:,.0f} FPS needs at most {cycles:,} cycles per frame at {clock_hz / 1e6:g} MHz, but no "
            f"folding brings every kernel there ({fastest.limit} needs at least {fastest.cycles:,}); the fastest "
            f"folding that fits {board.name} reaches {best_fps:,.0f} FPS"
        )
    fold, plan, est = _evaluate(layers, folding, overrides, clock_ns)
    over = _overused(est, layers.limit)
    if over:
        raise FoldingSearchError(
            f"{target_fps:,.0f} FPS does not fit {board.name}: it needs "
            f"{_describe(est, board, over, layers.max_utilization)} (the search keeps each resource within "
            f"{limit}); the fastest folding that fits reaches {best_fps:,.0f} FPS"
        )
    ii = est["totals"]["cycles_per_frame"]
    if ii > cycles:
        b = est["totals"]["bottleneck"]
        raise FoldingSearchError(
            f"{target_fps:,.0f} FPS needs at most {cycles:,} cycles per frame, but {b['kernel']} of "
            f"{b['layer']!r} takes {ii:,} whatever the folding; the fastest folding that fits {board.name} "
            f"reaches {best_fps:,.0f} FPS"
        )
    return SearchResult(fold, plan, est, cycles)
