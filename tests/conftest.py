"""Shared fixtures: seeds in one place, exported QONNX files cached per session."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

os.environ.setdefault("PYTHONHASHSEED", "0")
warnings.filterwarnings("ignore", message="fast_hadamard_transform")

SEED = 0


@pytest.fixture(scope="session", autouse=True)
def _hermetic_cache(tmp_path_factory):
    """Compiled C-simulations go to a fresh cache per test session (no state from earlier runs)."""
    os.environ["FPGAQ_CACHE"] = str(tmp_path_factory.mktemp("fpgaq-cache"))


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


@pytest.fixture(scope="session")
def lowered():
    """lowered(path) -> frontend.load(path), once per file and session (the IR is frozen: sharing it is safe)."""
    from fpgaq import frontend

    cache = {}

    def get(path):
        key = str(path)
        if key not in cache:
            cache[key] = frontend.load(path)
        return cache[key]

    return get


@pytest.fixture(scope="session")
def built(exported, lowered, tmp_path_factory):
    """built(name, dynamo, folding_name) -> build folder of an exported test model (cached per session)."""
    from pathlib import Path

    from fpgaq.ir import graph as ir
    from fpgaq.pipeline import build_graph
    from fpgaq.plan.folding import fold_limits

    cache = {}

    def get(name: str, dynamo: bool, folding: str = "default"):
        key = (name, dynamo, folding)
        if key not in cache:
            path, _ = exported(name, dynamo)
            graph = lowered(path)  # the three foldings build the same graph
            dots = [n for n in graph.nodes if isinstance(n, ir.DOT_PRODUCT_OPS)]
            spec = {
                "default": None,
                "ones": {n.name: {"pe": 1, "simd": 1} for n in dots},
                "max": {n.name: dict(zip(("pe", "simd"), fold_limits(n), strict=True)) for n in dots},
            }[folding]
            out = tmp_path_factory.mktemp(f"build_{name}_{folding}")
            report = build_graph(graph, "pynq-z2", out, Path(path).name, folding=spec, model_file=Path(path))
            cache[key] = (report, out, path)
        return cache[key]

    return get
