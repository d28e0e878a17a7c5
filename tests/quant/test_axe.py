"""ptq: the accumulator width guarantee (verified on the exported integers), scale search, exact builds."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fpgaq import frontend
from fpgaq.backends.hls.csim import CSim
from fpgaq.bounds import accumulator_range, bits_for_range
from fpgaq.ir import graph as ir
from fpgaq.ir.execute import run
from fpgaq.pipeline import build
from fpgaq.quant import PTQError, export, ptq


@pytest.fixture(scope="module")
def digits():
    from examples.digits_mlp import digits_split, train

    x_tr, x_te, y_tr, y_te = digits_split()
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(64, 96), torch.nn.ReLU(), torch.nn.Linear(96, 48), torch.nn.ReLU(), torch.nn.Linear(48, 10)
    )
    return train(model, x_tr, y_tr, epochs=20), torch.from_numpy(x_tr), torch.from_numpy(x_te), y_te


def widths_on_disk(qmodel, example, tmp_path, tile=None):
    graph = frontend.load(export(qmodel, example, tmp_path / "check.onnx"))
    out = []
    for node in graph.nodes:
        if isinstance(node, ir.DOT_PRODUCT_OPS):
            src = graph.tensors[node.inputs[0]]
            lo, hi = accumulator_range(node.weight, src.lo, src.hi, node.bias, tile)
            out.append(bits_for_range(min(lo), max(hi), symmetric=True))
    return out


def accuracy(model, x, y):
    with torch.no_grad():
        out = model(x)
    out = out.value if hasattr(out, "value") else out
    return float((out.argmax(1).numpy() == y).mean())


@pytest.mark.parametrize(
    ("method", "bits", "tile"), [("gpfq", 14, None), ("optq", 12, None), ("optq", 13, 16), ("rtn", 12, None)]
)
def test_width_guarantee_on_the_digits_model(digits, tmp_path, method, bits, tile):
    model, x_tr, x_te, y_te = digits
    q = ptq(model, x_tr[:512], method=method, accumulator_bits=bits, tile=tile)
    widths = widths_on_disk(q, x_tr[:2], tmp_path, tile)
    assert widths == q.fpgaq_ptq["widths"] and max(widths) <= bits
    assert accuracy(q, x_te, y_te) > 0.85  # far from the 20-60% of AXE on frozen unconstrained scales


def test_scale_search_beats_unconstrained_scales(digits):
    model, x_tr, _, _ = digits
    q = ptq(model, x_tr[:512], method="optq", accumulator_bits=12)
    candidates = q.fpgaq_ptq["candidates"]
    first = next(e for g, m, e in candidates if g == 1.0)
    assert q.fpgaq_ptq["calibration_error"] <= first
    assert {g for g, _, _ in candidates} >= {1.0, 8.0}


def test_unconstrained_ptq_and_bias_correction(digits):
    model, x_tr, x_te, y_te = digits
    q = ptq(model, x_tr[:512], method="gpfq", bias_correction=True)
    assert accuracy(q, x_te, y_te) > accuracy(model, x_te, y_te) - 0.03
    for layer in q.fpgaq_ptq["bias_correction"]:
        assert layer.mse_after <= layer.mse_before


def test_cnn_quantizes_and_builds_exactly(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 6, 3, padding=1),
        torch.nn.BatchNorm2d(6),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(6, 8, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(8 * 4 * 4, 10),
    ).eval()
    calib = torch.rand(128, 1, 8, 8)
    q = ptq(model, calib, method="optq", accumulator_bits=14, weight_bits=4, act_bits=4)
    assert max(q.fpgaq_ptq["widths"]) <= 14
    path = export(q, calib[:2], tmp_path / "cnn.onnx")
    build(path, "pynq-z2", tmp_path / "b", check_overflow=True)
    x = calib[:32].numpy()
    np.testing.assert_array_equal(CSim(tmp_path / "b").run(x), run(frontend.load(path), x))


def test_arguments_are_checked():
    model = torch.nn.Sequential(torch.nn.Linear(4, 2))
    with pytest.raises(PTQError, match=r"^unknown method 'adaround'; known: rtn, gpfq, optq$"):
        ptq(model, torch.rand(8, 4), method="adaround")
    with pytest.raises(PTQError, match=r"^weight_bits must be an integer from 2 to 16, not 1$"):
        ptq(model, torch.rand(8, 4), weight_bits=1)
    with pytest.raises(PTQError, match=r"^tile must be a positive integer, not 0$"):
        ptq(model, torch.rand(8, 4), accumulator_bits=12, tile=0)


def test_a_brevitas_model_goes_through_as_given(digits, tmp_path):
    from brevitas import nn as qnn
    from brevitas.quant import Uint8ActPerTensorFloat

    from fpgaq.quant.axe import quantize_float_model

    model, x_tr, x_te, y_te = digits
    brevitas_model = quantize_float_model(model, x_tr[:256], 4, 4, 8)
    assert any(isinstance(m, qnn.QuantLinear) for m in brevitas_model.modules())
    q = ptq(brevitas_model, [x_tr[:256], x_tr[256:512]], method="gpfq", accumulator_bits=15)
    assert max(q.fpgaq_ptq["widths"]) <= 15 and accuracy(q, x_te, y_te) > 0.85
    stats_scaled = torch.nn.Sequential(
        qnn.QuantIdentity(act_quant=Uint8ActPerTensorFloat, bit_width=8, return_quant_tensor=True),
        qnn.QuantLinear(64, 10, bias=False, weight_bit_width=4),
    )
    with pytest.raises(PTQError, match=r"^layer dense0 needs \d+ accumulator bits, more than the 6 requested"):
        ptq(stats_scaled, x_tr[:64], method="rtn", accumulator_bits=6)
