"""The kernel plan: backend-neutral kernels, streams and tables (kernels.py), built from the IR by the planner
(planner.py) with its stream orders (layout.py), stream widths (widths.py) and folding (folding.py)."""

from fpgaq.plan.kernels import Plan
from fpgaq.plan.planner import make_plan

__all__ = ["Plan", "make_plan"]
