"""QuantTune (arXiv 2403.06497; docs/algorithms.md#quanttune): outlier-driven fine-tuning.

[ours] The paper's exact loss was not available; this is our formulation:
    L = L_task + lambda * sum_l mean( relu(|a_l - mu_l| - k * sigma_l)^2 )
over the inputs a_l of the Linear/Conv layers that will be quantized, with mu_l / sigma_l per-tensor running
mean / std (detached, updated with `momentum`). With `adaptive=True` each layer's lambda is scaled by its
max/sigma ratio relative to the mean ratio, so the layers with the worst outliers are pulled hardest.
Softmax- and normalisation-style layers are never hooked (only Linear/Conv inputs are).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


class QuantTuneLoss(torch.nn.Module):
    """Collects the inputs of `model`'s Linear/Conv layers on every forward; calling it returns the penalty."""

    def __init__(
        self,
        model: torch.nn.Module,
        *,
        k: float = 3.0,
        lam: float = 1e-2,
        momentum: float = 0.1,
        adaptive: bool = False,
    ):
        super().__init__()
        if k <= 0 or lam < 0 or not 0 < momentum <= 1:
            raise ValueError(f"QuantTuneLoss needs k > 0, lam >= 0, 0 < momentum <= 1, not {k}, {lam}, {momentum}")
        self.k, self.lam, self.momentum, self.adaptive = k, lam, momentum, adaptive
        self.layers = [
            (n, m) for n, m in model.named_modules() if isinstance(m, torch.nn.Linear | torch.nn.modules.conv._ConvNd)
        ]
        self._stats: dict[str, tuple[float, float]] = {}
        self._captured: dict[str, torch.Tensor] = {}
        self._handles = [m.register_forward_pre_hook(self._hook(n)) for n, m in self.layers]

    def _hook(self, name):
        def capture(_module, inputs):
            x = inputs[0]
            self._captured[name] = x.value if hasattr(x, "value") else x

        return capture

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()

    def _update(self, name: str, x: torch.Tensor) -> tuple[float, float]:
        mean, std = float(x.detach().mean()), float(x.detach().std())
        if name in self._stats:
            m0, s0 = self._stats[name]
            mean, std = (1 - self.momentum) * m0 + self.momentum * mean, (1 - self.momentum) * s0 + self.momentum * std
        self._stats[name] = (mean, std)
        return mean, std

    def outlier_ratios(self) -> dict[str, float]:
        """max |a - mu| / sigma per layer, from the last forward pass."""
        out = {}
        for name, x in self._captured.items():
            mean, std = self._stats.get(name, (float(x.mean()), float(x.std())))
            out[name] = float((x.detach() - mean).abs().max()) / max(std, 1e-12)
        return out

    def forward(self) -> torch.Tensor:
        terms, ratios = [], []
        for name, x in self._captured.items():
            mean, std = self._update(name, x)
            excess = F.relu((x - mean).abs() - self.k * std)
            terms.append((excess**2).mean())
            ratios.append(float((x.detach() - mean).abs().max()) / max(std, 1e-12))
        self._captured = {}
        if not terms:
            return torch.zeros(())
        if self.adaptive:
            average = sum(ratios) / len(ratios)
            weights = [r / average for r in ratios]
            return self.lam * sum(w * t for w, t in zip(weights, terms, strict=True))
        return self.lam * sum(terms)


def quanttune(
    model: torch.nn.Module,
    data: torch.Tensor,
    labels: torch.Tensor,
    *,
    epochs: int = 5,
    lr: float = 1e-3,
    batch_size: int = 64,
    k: float = 3.0,
    lam: float = 1e-2,
    adaptive: bool = True,
    seed: int = 0,
) -> torch.nn.Module:
    """Fine-tune a float classifier with cross-entropy + QuantTuneLoss so that a later per-tensor PTQ loses less."""
    torch.manual_seed(seed)
    loss_fn = QuantTuneLoss(model, k=k, lam=lam, adaptive=adaptive)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    try:
        for _ in range(epochs):
            for idx in torch.randperm(len(data)).split(batch_size):
                opt.zero_grad()
                loss = F.cross_entropy(model(data[idx]), labels[idx]) + loss_fn()
                loss.backward()
                opt.step()
    finally:
        loss_fn.remove()
    return model.eval()
