"""Cycle and resource estimates of a design before synthesis, and the folding search that uses them.

models.py holds the per-kernel formulas with their sources; costs.py applies them to the kernels of a plan and
plan_costs.py sums them (for an RTL build with calibration.py's per-class factors fitted to Yosys); search.py
chooses PE/SIMD per layer for a target frame rate on a board.
"""

from fpgaq.estimate.models import Cost
from fpgaq.estimate.plan_costs import RESOURCES, estimate_plan

__all__ = ["RESOURCES", "Cost", "estimate_plan"]
