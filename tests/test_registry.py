"""Every IR op and every kernel kind is known to every stage: a new op that misses one fails here, not at a
user's build."""

from __future__ import annotations

import inspect

import pytest

from fpgaq.backends.hls.emit import EMITTERS
from fpgaq.estimate.costs import COSTS
from fpgaq.ir import graph as ir
from fpgaq.ir.adversarial import FRAMES
from fpgaq.ir.execute import EXECUTORS
from fpgaq.plan import kernels
from fpgaq.plan.planner import RULES

IR_OPS = [c for c in vars(ir).values() if inspect.isclass(c) and issubclass(c, ir.Node) and c is not ir.Node]
KERNELS = [c for c in vars(kernels).values() if inspect.isclass(c) and issubclass(c, kernels.Kernel)]
KERNELS = [c for c in KERNELS if c is not kernels.Kernel]


def test_the_op_list_is_complete():
    assert set(ir.OPS) == set(IR_OPS)
    assert set(kernels.KERNELS) == set(KERNELS)


@pytest.mark.parametrize("op", IR_OPS, ids=lambda c: c.__name__)
def test_every_ir_op_has_an_executor_a_planner_rule_and_adversarial_frames(op):
    assert op in EXECUTORS, f"fpgaq/ir/execute.py: no executor for {op.__name__}"
    assert op in RULES, f"fpgaq/plan/planner.py: no planner rule for {op.__name__}"
    assert op in FRAMES, f"fpgaq/ir/adversarial.py: no adversarial frames for {op.__name__}"


@pytest.mark.parametrize("kind", KERNELS, ids=lambda c: c.__name__)
def test_every_kernel_kind_has_a_cost_and_an_emitter(kind):
    assert kind in COSTS, f"fpgaq/estimate/costs.py: no cost model for {kind.__name__}"
    assert kind in EMITTERS, f"fpgaq/backends/hls/emit.py: no C++ for {kind.__name__}"
