"""MaQD: LBN is batch-size independent and folds exactly; surrogate gradients; MaQD models build exactly."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from brevitas import nn as qnn

from fpgaq import frontend
from fpgaq.backends.hls.csim import CSim
from fpgaq.ir.execute import run
from fpgaq.pipeline import build
from fpgaq.quant import export
from fpgaq.quant.maqd import (
    LayerBatchNorm1d,
    LayerBatchNorm2d,
    SurrogateRound,
    fold,
    maqd_conv2d,
    maqd_linear,
    maqd_relu,
    round_clip_step,
)


@pytest.mark.parametrize(
    "cls, shape", [(LayerBatchNorm1d, (1, 6)), (LayerBatchNorm2d, (1, 3, 4, 4)), (LayerBatchNorm2d, (8, 3, 4, 4))]
)
def test_lbn_normalises_over_batch_and_features(cls, shape):
    torch.manual_seed(0)
    lbn = cls(shape[1])
    x = torch.randn(*shape) * 3 + 1
    y = lbn.train()(x)  # batch size 1 works: the statistics cover every feature
    assert abs(float(y.mean())) < 1e-5 and abs(float(y.var(unbiased=False)) - 1) < 1e-4


def test_lbn_folds_into_the_affine_it_exports_as():
    torch.manual_seed(1)
    lbn = LayerBatchNorm2d(3)
    with torch.no_grad():
        lbn.weight.uniform_(-2, 2)
        lbn.bias.uniform_(-1, 1)
    for _ in range(5):
        lbn.train()(torch.randn(4, 3, 5, 5) * 2 + 0.5)
    lbn.eval()
    x = torch.randn(2, 3, 5, 5)
    a, b = fold(lbn)
    torch.testing.assert_close(lbn(x), x * a.reshape(1, 3, 1, 1) + b.reshape(1, 3, 1, 1))
    reference = torch.nn.BatchNorm2d(3).eval()
    reference.load_state_dict(lbn.state_dict())
    torch.testing.assert_close(lbn(x), reference(x))
    assert torch.all(lbn.running_mean == lbn.running_mean[0])  # one statistic per layer


def test_surrogate_gradient_differs_from_ste():
    x = torch.linspace(-2.0, 2.0, 81, requires_grad=True)
    SurrogateRound()(x).sum().backward()
    grad = x.grad
    assert torch.all(grad > 0)  # never zero inside the range, unlike a hard staircase
    at_steps = grad[(x.detach() - x.detach().floor() - 0.5).abs() < 1e-4]
    at_integers = grad[(x.detach() - x.detach().round()).abs() < 1e-4]
    assert at_steps.min() > at_integers.max()  # peaked at the rounding steps, not the constant 1 of STE
    assert torch.equal(SurrogateRound()(torch.tensor([0.5, 1.5, 2.5])), torch.tensor([0.0, 2.0, 2.0]))


def test_round_clip_weights_are_standardised_and_narrow():
    layer = maqd_linear(16, 4, bits=3)
    w = layer.weight.detach()
    torch.testing.assert_close(w.mean(1), torch.zeros(4), atol=1e-5, rtol=0)
    torch.testing.assert_close(w.std(1), torch.ones(4), atol=1e-3, rtol=0)
    q = layer.quant_weight()
    ints = torch.round(q.value / q.scale)
    assert float(q.scale) == pytest.approx(round_clip_step(3)) and ints.abs().max() <= 3
    with pytest.raises(ValueError, match="at least 2 bits"):
        round_clip_step(1)


def maqd_cnn(bits=2):
    return torch.nn.Sequential(
        qnn.QuantIdentity(bit_width=8, return_quant_tensor=True),
        maqd_conv2d(1, 8, 3, bits, padding=1),
        LayerBatchNorm2d(8),
        maqd_relu(bits),
        torch.nn.MaxPool2d(2),
        maqd_conv2d(8, 8, 3, bits, padding=1),
        LayerBatchNorm2d(8),
        maqd_relu(bits),
        torch.nn.Flatten(),
        maqd_linear(8 * 4 * 4, 10, bits),
        LayerBatchNorm1d(10),
    )


def test_maqd_model_trains_exports_and_builds_exactly(tmp_path):
    torch.manual_seed(0)
    model = maqd_cnn()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    x, y = torch.rand(64, 1, 8, 8), torch.randint(0, 10, (64,))
    model.train()
    for batch in (x[:1], x[:8], x):  # batch size 1 included: LBN does not need a batch
        opt.zero_grad()
        out = model(batch)
        torch.nn.functional.cross_entropy(out, y[: len(batch)]).backward()
        opt.step()
    model.eval()
    path = export(model, x[:2], tmp_path / "maqd.onnx")
    build(path, "pynq-z2", tmp_path / "b", check_overflow=True)
    sample = x[:16].numpy()
    np.testing.assert_array_equal(CSim(tmp_path / "b").run(sample), run(frontend.load(path), sample))
    with torch.no_grad():
        np.testing.assert_allclose(run(frontend.load(path), sample), model(x[:16]).numpy(), rtol=1e-4, atol=1e-4)
