"""What "bit-exact" means: fpgaq equals the QONNX semantics computed exactly; PyTorch's float32 forward pass can
break an exact rounding tie the other way.

The model is built so that ties are common: input scale s, power-of-two weight scale w and output scale
2*s*w (Brevitas computes every activation scale as init / 127 in float32, so this relation holds exactly for
the float32 scales in the file). The exact output code is acc / 2 rounded half to even: every odd accumulator
is an exact tie. PyTorch computes x*s, w*q and their sum in float32, lands a hair above or below the tie and
rounds that; fpgaq (golden model and compiled C++ alike) rounds the exact value.
"""

from __future__ import annotations

import warnings
from fractions import Fraction

import numpy as np
import torch
from brevitas import nn as qnn
from brevitas.inject.enum import ScalingImplType
from brevitas.quant import Int8ActPerTensorFloat, Int8WeightPerTensorFixedPoint

from fpgaq import frontend
from fpgaq.backends.hls.csim import CSim
from fpgaq.ir import graph as ir
from fpgaq.ir.execute import execute, run
from fpgaq.ir.hostio import quantize_input
from fpgaq.pipeline import build
from tests.conftest import export


class ConstScaleAct(Int8ActPerTensorFloat):
    scaling_impl_type = ScalingImplType.CONST


class TieNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.inp = qnn.QuantIdentity(act_quant=ConstScaleAct, scaling_init=1.3, return_quant_tensor=True)
        self.fc = qnn.QuantLinear(
            16, 8, bias=False, weight_quant=Int8WeightPerTensorFixedPoint, weight_bit_width=4, return_quant_tensor=True
        )
        self.out = qnn.QuantIdentity(act_quant=ConstScaleAct, scaling_init=1.3 * 2 * 0.125)

    def forward(self, x):
        return self.out(self.fc(self.inp(x)))


def test_pytorch_breaks_exact_ties_that_fpgaq_rounds_exactly(tmp_path):
    model = TieNet().eval()
    with torch.no_grad():
        model.fc.weight.uniform_(-0.9, 0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = export(model, (16,), tmp_path / "ties.onnx", dynamo=False)
    graph = frontend.load(path)
    x = np.random.default_rng(0).normal(size=(3000, 16)).astype(np.float32)
    ours = run(graph, x)
    with torch.no_grad():
        theirs = model(torch.from_numpy(x)).numpy()
        scale = float(model.out.act_quant.scale())
        s_in = Fraction(float(model.inp.act_quant.scale()))
        s_w = Fraction(float(model.fc.quant_weight().scale))
    assert Fraction(scale) == 2 * s_in * s_w, "the construction: output scale = 2 * input scale * weight scale"
    dense = next(n for n in graph.nodes if isinstance(n, ir.Dense))
    acc = execute(graph, quantize_input(graph.input, x))[dense.output]
    our_codes, their_codes = (np.rint(v / np.float64(scale)).astype(np.int64) for v in (ours, theirs))
    differ = our_codes != their_codes
    assert differ.any(), "PyTorch should break some of the exact ties"
    # every difference sits on an exact tie (odd accumulator: acc / 2 = k + 1/2) and is one output code
    assert np.all(acc[differ] % 2 == 1)
    np.testing.assert_array_equal(np.abs(our_codes - their_codes)[differ], 1)
    # fpgaq rounds the tie half to even, exactly as the QONNX Quant op defines ROUND
    np.testing.assert_array_equal(our_codes, np.clip(np.round(acc / 2), -128, 127).astype(np.int64))
    print(f"PyTorch differs on {differ.sum()} of {differ.size} outputs ({differ.any(1).sum()} of {len(x)} rows)")
    # away from ties fpgaq and PyTorch agree, and the compiled C++ equals the golden model on every element
    np.testing.assert_array_equal(our_codes[acc % 2 == 0], their_codes[acc % 2 == 0])
    build(path, "pynq-z2", tmp_path / "out")
    np.testing.assert_array_equal(CSim(tmp_path / "out").run(x), ours)
