"""Where fpgaq and qonnx's float32 execution differ, the exact value sits on a rounding tie that float32 breaks.

A hand-made QONNX graph Quant(x) -> Mul(c) -> Quant puts q * s1 * c within float32 rounding of 2.5 for every
position; fpgaq rounds the exact rational (Fractions of the float32 constants), qonnx rounds its float32 result.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from fpgaq import frontend
from fpgaq.ir.execute import run
from fpgaq.ir.types import Rounding
from tests import reference

N = 127
S1 = np.float32(0.1)


def tie_model(path):
    q = np.arange(1, N + 1, dtype=np.float32)
    c = (np.float32(2.5) / (q * S1)).astype(np.float32).reshape(1, N)
    inits = [
        numpy_helper.from_array(np.array(S1), "s1"),
        numpy_helper.from_array(np.array(np.float32(1.0)), "s2"),
        numpy_helper.from_array(np.array(np.float32(0.0)), "zp"),
        numpy_helper.from_array(np.array(np.float32(8)), "b8"),
        numpy_helper.from_array(c, "c"),
    ]
    nodes = [
        helper.make_node(
            "Quant",
            ["x", "s1", "zp", "b8"],
            ["xq"],
            domain="qonnx.custom_op.general",
            rounding_mode="ROUND",
            signed=1,
            narrow=0,
        ),
        helper.make_node("Mul", ["xq", "c"], ["m"]),
        helper.make_node(
            "Quant",
            ["m", "s2", "zp", "b8"],
            ["y"],
            domain="qonnx.custom_op.general",
            rounding_mode="ROUND",
            signed=1,
            narrow=0,
        ),
    ]
    graph = helper.make_graph(
        nodes,
        "ties",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, N])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, N])],
        inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("qonnx.custom_op.general", 1)]
    )
    onnx.save(model, str(path))
    return q, c.reshape(-1)


def test_differences_are_float32_ties_and_fpgaq_rounds_the_exact_value(tmp_path):
    q, c = tie_model(tmp_path / "ties.onnx")
    x = (q * S1).reshape(1, N).astype(np.float32)
    ours = run(frontend.load(tmp_path / "ties.onnx"), x).reshape(-1)
    ref = reference.execute(reference.original_model(tmp_path / "ties.onnx"), x).reshape(-1)
    exact = [Fraction(int(qi)) * Fraction(float(S1)) * Fraction(float(ci)) for qi, ci in zip(q, c)]
    np.testing.assert_array_equal(ours, [Rounding.ROUND.apply(v) for v in exact])
    differ = np.flatnonzero(ours != ref)
    assert len(differ) > 0, "the construction should produce float32 ties"
    for i in differ:
        assert abs(exact[i] - Fraction(5, 2)) < Fraction(1, 2**20), "a difference away from a tie"
        assert abs(float(ours[i]) - float(ref[i])) == 1.0
    assert len(differ) < N
