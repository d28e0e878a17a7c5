"""The board-level top of an RTL build for boards without a processing system (ECP5): filled in by the ECP5 work."""

from __future__ import annotations

from fpgaq.boards import Board
from fpgaq.plan.kernels import Plan


def board_files(plan: Plan, board: Board) -> dict[str, str | bytes]:
    """Build-folder path -> content of the board's top level (none yet)."""
    return {}
