"""Shared fixtures: seeds in one place, exported QONNX files cached per session."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

os.environ.setdefault("PYTHONHASHSEED", "0")
warnings.filterwarnings("ignore", message="fast_hadamard_transform")

SEED = 0


@pytest.fixture(autouse=True)
def _seed():
    import torch

    torch.manual_seed(SEED)
    np.random.seed(SEED)


def export(model, shape, path, dynamo: bool) -> str:
    import torch
    from brevitas.export import export_qonnx

    example = torch.randn(2, *shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_qonnx(model, example, str(path), dynamo=dynamo)
    return str(path)


@pytest.fixture(scope="session")
def exported(tmp_path_factory):
    """exported(name, dynamo) -> (path of the QONNX file, per-sample input shape), built once per session."""
    from tests.models import build

    cache = {}

    def get(name: str, dynamo: bool):
        key = (name, dynamo)
        if key not in cache:
            model, shape = build(name)
            folder = tmp_path_factory.mktemp(f"{name}_{'dynamo' if dynamo else 'ts'}")
            cache[key] = (export(model, shape, folder / "model.onnx", dynamo), shape)
        return cache[key]

    return get
