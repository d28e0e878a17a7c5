"""QuantTuneLoss: zero without outliers, positive and pulling inward with them; quanttune trains."""

from __future__ import annotations

import pytest
import torch

from fpgaq.quant import QuantTuneLoss, quanttune


def test_loss_is_zero_without_outliers():
    model = torch.nn.Sequential(torch.nn.Linear(8, 4))
    loss = QuantTuneLoss(model, k=3.0, lam=1.0)
    model(torch.rand(256, 8) * 2 - 1)  # uniform: |a - mu| <= 1 < 3 sigma (sigma ~ 0.58)
    assert loss().item() == 0.0


def test_outliers_are_penalised_and_pulled_in():
    model = torch.nn.Sequential(torch.nn.Linear(8, 4))
    loss = QuantTuneLoss(model, k=3.0, lam=1.0)
    x = torch.randn(256, 8)
    x[0, 0] = 40.0
    x.requires_grad_(True)
    model(x)
    value = loss()
    assert value.item() > 0
    value.backward()
    assert x.grad[0, 0] > 0 and x.grad[1:].abs().max() == 0  # only the outlier moves, toward the mean
    assert loss.outlier_ratios() == {}  # consumed


def test_adaptive_weights_and_arguments():
    model = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    loss = QuantTuneLoss(model, adaptive=True)
    x = torch.randn(64, 8)
    x[0, 0] = 30.0
    model(x)
    ratios = loss.outlier_ratios()
    assert set(ratios) == {"0", "2"} and ratios["0"] > 5
    assert loss().item() > 0
    loss.remove()
    with pytest.raises(ValueError, match=r"QuantTuneLoss needs k > 0"):
        QuantTuneLoss(model, k=0)


def test_quanttune_runs_and_keeps_the_model_usable():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    data, labels = torch.randn(128, 8), torch.randint(0, 3, (128,))
    tuned = quanttune(model, data, labels, epochs=2, lam=0.1)
    assert not tuned.training and tuned(data).shape == (128, 3)
    assert all(not m._forward_pre_hooks for m in tuned.modules())  # hooks removed


def test_quanttuned_model_quantizes_and_builds_exactly(tmp_path):
    import numpy as np

    from fpgaq import frontend
    from fpgaq.backends.hls.csim import CSim
    from fpgaq.ir.execute import run
    from fpgaq.pipeline import build
    from fpgaq.quant import export, ptq

    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    data, labels = torch.rand(128, 8), torch.randint(0, 3, (128,))
    q = ptq(quanttune(model, data, labels, epochs=2, lam=0.1), data, method="rtn", weight_bits=6, act_bits=6)
    path = export(q, data[:2], tmp_path / "qt.onnx")
    build(path, "pynq-z2", tmp_path / "b")
    x = data[:32].numpy()
    np.testing.assert_array_equal(CSim(tmp_path / "b").run(x), run(frontend.load(path), x))
