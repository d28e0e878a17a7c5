"""Where the weights of each matrix-vector unit live on a board with UltraRAM (UltraScale+): block RAM, or
UltraRAM written at run time.

An UltraRAM block holds 4K x 72 bits (16 BRAM18s of bits) but cannot be initialized by the bitstream [UG573], so a
weight memory placed there is an argument of the synthesis top on its AXI4-Lite bus (storage_impl=uram) that the
host writes once before the first frame (deploy/weights/*.bin, written by fpgaq build; the PYNQ driver's
load_weights) - FINN likewise requires runtime-writeable weights for ram_style "ultra". The C-simulation and the
timed simulation load the same files through the same packing, so C-sim == golden checks that path too.

Modes (`fpgaq build --weight-memory`):
  auto  weights stay in LUTRAM / block RAM unless the design's BRAM18 exceeds MAX_UTILIZATION of the board;
        then the block-RAM weight memories move to UltraRAM, those that save the most BRAM18 per UltraRAM block
        first, each only where it fills its blocks at least 1/MIN_SAVING of the way (BRAM18 saved per URAM
        block at least MIN_SAVING), until BRAM fits or URAM would pass the same limit.
  bram  never UltraRAM.
  uram  every block-RAM weight memory in UltraRAM (refused on a board without it, or when they do not fit).
"""

from __future__ import annotations

import dataclasses

from fpgaq.boards import Board
from fpgaq.errors import FpgaqError
from fpgaq.estimate import models
from fpgaq.estimate.costs import kernel_cost, stream_cost
from fpgaq.plan import kernels as k

WEIGHT_MEMORIES = ("auto", "bram", "uram")
MAX_UTILIZATION = 0.85  # a design above 85% of a resource rarely routes at the board's clock
MIN_SAVING = 4  # BRAM18s a URAM block must replace (it holds the bits of 16)


class PlacementError(FpgaqError):
    """Weights cannot go where --weight-memory asks."""


def _bram_weights(plan: k.Plan) -> list[k.Mvu]:
    return [m for m in plan.kernels if isinstance(m, k.Mvu) and m.weights.storage == "bram"]


def _uram_blocks(m: k.Mvu) -> int:
    return models.uram(*_words(m))


def _words(m: k.Mvu) -> tuple[int, int]:
    """(depth, width in bits) of a matrix-vector unit's weight memory: one word of PE x SIMD weights a fold."""
    return m.weights.shape[0], m.weights.shape[1] * m.weights.elem.bits


def _moved(plan: k.Plan, names: set[str]) -> k.Plan:
    kernels = tuple(dataclasses.replace(x, weights=dataclasses.replace(x.weights, storage="uram"))
                    if x.name in names else x for x in plan.kernels)  # fmt: skip
    return dataclasses.replace(plan, kernels=kernels)


def check_weight_memory(board: Board, mode: str) -> None:
    """PlacementError for an unknown mode, or UltraRAM asked of a board without it."""
    if mode not in WEIGHT_MEMORIES:
        raise PlacementError(f"--weight-memory must be one of {', '.join(WEIGHT_MEMORIES)}, not {mode!r}")
    if mode == "uram" and not board.uram:
        raise PlacementError(f"--weight-memory uram: {board.name} ({board.family}) has no UltraRAM")


def place_weights(plan: k.Plan, board: Board, mode: str = "auto", limit: float = MAX_UTILIZATION) -> k.Plan:
    """The plan with the weight memories placed for `board` by `mode` (see the module)."""
    check_weight_memory(board, mode)
    if mode == "bram" or not board.uram:
        return plan
    candidates = _bram_weights(plan)
    if mode == "uram":
        need = sum(_uram_blocks(m) for m in candidates)
        if need > board.uram:
            top = max(candidates, key=_uram_blocks)
            raise PlacementError(f"--weight-memory uram: the weights need {need:,} UltraRAM blocks, {board.name} has "
                                 f"{board.uram:,} (the most for {top.name}: {_uram_blocks(top):,})")  # fmt: skip
        return _moved(plan, {m.name for m in candidates})
    bram = sum(kernel_cost(x, board.device).bram18 for x in plan.kernels)
    bram += sum(stream_cost(st, plan.depth(st.name)).bram18 for st in plan.streams)
    # (BRAM18 its weights take in block RAM, URAM blocks they would take) per candidate
    cost = {m.name: (models.memory(*_words(m), "bram").bram18, _uram_blocks(m)) for m in candidates}
    moved, urams = set(), 0
    for m in sorted(candidates, key=lambda m: (-cost[m.name][0] / cost[m.name][1], m.name)):
        if bram <= board.bram18 * limit:
            break
        saved, blocks = cost[m.name]
        if saved < MIN_SAVING * blocks or urams + blocks > board.uram * limit:
            continue
        moved.add(m.name)
        urams += blocks
        bram -= saved
    return _moved(plan, moved) if moved else plan
