"""QONNX export of a Brevitas model, checked by lowering it with fpgaq's frontend."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import torch


def export(
    model: torch.nn.Module, example_input: torch.Tensor, path: str | os.PathLike, *, dynamo: bool = False
) -> Path:
    """Export `model` (eval mode) to QONNX at `path` and lower it once, so that a model fpgaq cannot build
    fails here with the frontend's error (op type, node, supported ops) instead of later."""
    from brevitas.export import export_qonnx

    from fpgaq import frontend

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    was_training = model.training
    model.eval()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            export_qonnx(model, example_input, str(path), dynamo=dynamo)
    finally:
        model.train(was_training)
    frontend.load(path)
    return path
