"""The bundled data of the demo and the examples: scikit-learn's 8x8 digits (no download), and a plain trainer."""

from __future__ import annotations

import numpy as np
import torch


def digits_split(seed: int = 0):
    """(x_train, x_test, y_train, y_test): digits scaled to [0, 1] as float32, 75/25 stratified split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x = (data.data / 16.0).astype(np.float32)
    return train_test_split(x, data.target, test_size=0.25, random_state=seed, stratify=data.target)


def train(model: torch.nn.Module, x, y, epochs: int = 40, seed: int | None = 0, lr: float = 3e-3):
    """Adam on cross-entropy, batches of 64 (x, y: arrays or tensors); returns the model in eval mode. seed None
    leaves the random state as the caller set it."""
    if seed is not None:
        torch.manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    xt, yt = torch.as_tensor(x), torch.as_tensor(y).long()
    model.train()
    for _ in range(epochs):
        for idx in torch.randperm(len(xt)).split(64):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(xt[idx]), yt[idx]).backward()
            opt.step()
    return model.eval()
