"""Float model factories for `fpgaq quantize` (they train themselves on scikit-learn's digits in seconds).

    fpgaq quantize examples/digits_float.py:mlp --data digits --method optq --accumulator-bits 12 \\
        --bias-correction --out examples/out/mlp_axe12.onnx
    fpgaq quantize examples/digits_float.py:cnn --data digits --method gpfq --accumulator-bits 14 \\
        --out examples/out/cnn_axe14.onnx
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from digits_mlp import digits_split, train  # noqa: E402


def mlp(epochs: int = 60) -> torch.nn.Module:
    """The 64-96-48-10 MLP of the AXE reference figures (float accuracy about 97-98%)."""
    x_tr, _, y_tr, _ = digits_split()
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(64, 96), torch.nn.ReLU(), torch.nn.Linear(96, 48), torch.nn.ReLU(), torch.nn.Linear(48, 10)
    )
    return train(model, x_tr, y_tr, epochs=epochs)


def cnn(epochs: int = 25) -> torch.nn.Module:
    """A small CNN on the 8x8 digits as 1-channel images: conv-BN-ReLU-maxpool x 2 and a linear classifier."""
    x_tr, _, y_tr, _ = digits_split()
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 3, padding=1),
        torch.nn.BatchNorm2d(16),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 3, padding=1),
        torch.nn.BatchNorm2d(32),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(32 * 2 * 2, 10),
    )
    return train(model, x_tr.reshape(-1, 1, 8, 8), y_tr, epochs=epochs)
