"""The networks Brevitas ships, reduced in size, exported with export_qonnx exactly as their classes build them.

bnn_pynq CNV and FC (TFC, SFC, LFC) compute `2 * x - 1` (and FC a view) on the float input before the input
quantizer: the host folds it into the input quantization. MobileNet-v1 has per-channel activation scales
before its depthwise convolutions: each channel is its own dot product, so the scale goes into its thresholds.
Every model lowers, its golden output equals QONNX's within float32 rounding, and the compiled C-simulation of
one model per family equals the golden model on every element.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import torch
from brevitas import nn as qnn
from brevitas.export import export_qonnx
from brevitas_examples.bnn_pynq.models import CNV as cnv_module
from brevitas_examples.bnn_pynq.models import get_model_cfg
from brevitas_examples.bnn_pynq.models.FC import FC
from brevitas_examples.imagenet_classification.models.mobilenetv1 import ConvBlock, MobileNet
from click.testing import CliRunner

from fpgaq import pipeline
from fpgaq.backends.hls.csim import CSim
from fpgaq.cli import main
from fpgaq.host import Host
from fpgaq.ir import graph as ir
from fpgaq.ir.execute import run
from fpgaq.ir.hostio import quantize_input
from fpgaq.ir.serialize import input_to_json, output_to_json
from tests import reference

BNN = ("cnv_1w1a", "cnv_1w2a", "cnv_2w2a", "tfc_1w1a", "tfc_1w2a", "tfc_2w2a")
BNN += ("sfc_1w1a", "sfc_1w2a", "sfc_2w2a", "lfc_1w1a", "lfc_1w2a")
FC_FEATURES = {"tfc": [12, 12, 12], "sfc": [16, 16, 16], "lfc": [20, 20, 20]}  # shipped: 64, 256, 1024
CNV_SIZES = dict(  # shipped: 64, 64, 128, 128, 256, 256 channels; 256 -> 512 -> 512 features
    CNV_OUT_CH_POOL=[(8, False), (8, True), (12, False), (12, True), (16, False), (16, False)],
    INTERMEDIATE_FC_FEATURES=[(16, 24), (24, 24)],
    LAST_FC_IN_FEATURES=24,
)
BUILT = ("cnv_1w1a", "tfc_2w2a", "mobilenet")  # bipolar conv, 2-bit dense, per-channel depthwise
FRAMES = 4


def bnn_pynq(name: str):
    """The bnn_pynq network `name` with its cfg's bit widths and fewer channels; (model, input shape)."""
    cfg = get_model_cfg(name)
    quant = {key.lower(): cfg.getint("QUANT", key) for key in ("WEIGHT_BIT_WIDTH", "ACT_BIT_WIDTH", "IN_BIT_WIDTH")}
    classes, channels = cfg.getint("MODEL", "NUM_CLASSES"), cfg.getint("MODEL", "IN_CHANNELS")
    if cfg.get("MODEL", "ARCH") == "CNV":
        with mock.patch.multiple(cnv_module, **CNV_SIZES):
            return cnv_module.CNV(num_classes=classes, in_ch=channels, **quant), (channels, 32, 32)
    model = FC(num_classes=classes, in_channels=channels, out_features=FC_FEATURES[name[:3]], **quant)
    return model, (channels, 28, 28)


def perturb_channel_scales(model: torch.nn.Module) -> None:
    """Load different scales per channel into the per-channel activation quantizers, as a trained checkpoint
    does (untrained ones use their initial statistics, equal on every channel); the parameter is log2 of the
    scale (LOG_FP)."""
    state = {
        name: torch.rand_like(p) * 1.5 - 4.0
        for name, p in model.named_parameters()
        if name.endswith("scaling_impl.value") and p.numel() > 1
    }
    assert state, "no per-channel activation scale"
    model.load_state_dict(state, strict=False)


def mobilenet(input_quant: bool):
    """MobileNet-v1 (4-bit, per-channel activation scales on the init block and the pointwise blocks) with
    fewer channels at 32x32. Its first convolution reads the float input: the stock class has no input
    quantizer, so a deployable model puts one in front (`input_quant`)."""
    model = MobileNet(
        channels=[[8], [16], [16, 16], [24]],
        first_stage_stride=False,
        act_bit_width=4,
        weight_bit_width=4,
        round_average_pool=False,
        avg_pool_kernel_size=4,
        num_classes=10,
    )
    perturb_channel_scales(model)
    if input_quant:
        model = torch.nn.Sequential(qnn.QuantIdentity(return_quant_tensor=True), model)
    return model, (3, 32, 32)


def dense_after_per_channel():
    """A per-channel QuantReLU (MobileNet's ConvBlock) feeding a 1x1 convolution that mixes channels."""
    model = torch.nn.Sequential(
        qnn.QuantIdentity(return_quant_tensor=True),
        ConvBlock(3, 8, kernel_size=3, weight_bit_width=4, act_bit_width=4, activation_scaling_per_channel=True),
        ConvBlock(8, 8, kernel_size=1, weight_bit_width=4, act_bit_width=4),
    )
    perturb_channel_scales(model)
    return model, (3, 8, 8)


class SquaredInput(torch.nn.Module):
    """x * x before the input quantizer: not an affine map of the input."""

    def __init__(self):
        super().__init__()
        self.quant = qnn.QuantIdentity(return_quant_tensor=True)
        self.fc = qnn.QuantLinear(4, 3, bias=False, weight_bit_width=4)

    def forward(self, x):
        return self.fc(self.quant(x * x))


MODELS = {
    **{name: (lambda name=name: bnn_pynq(name)) for name in BNN},
    "mobilenet": lambda: mobilenet(True),
    "mobilenet_stock": lambda: mobilenet(False),
    "dense_after_per_channel": dense_after_per_channel,
    "squared_input": lambda: (SquaredInput(), (4,)),
}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """exported(name) -> (path, input shape): the model exported once per module, as export_qonnx writes it."""
    cache = {}

    def get(name: str):
        if name not in cache:
            torch.manual_seed(0)
            model, shape = MODELS[name]()
            path = tmp_path_factory.mktemp(name) / f"{name}.onnx"
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                export_qonnx(model.eval(), torch.randn(1, *shape), str(path))
            cache[name] = (str(path), shape)
        return cache[name]

    return get


@pytest.fixture(scope="module")
def lowered(exported):
    """lowered(name) -> (path, input shape, IR graph), lowered once per module (the IR is frozen)."""
    cache = {}

    def get(name: str):
        if name not in cache:
            path, shape = exported(name)
            cache[name] = (path, shape, pipeline.load(path))
        return cache[name]

    return get


def frames(name: str, shape) -> np.ndarray:
    rng = np.random.default_rng(7)
    if name == "mobilenet":
        return rng.normal(0.0, 1.0, size=(FRAMES, *shape)).astype(np.float32)
    return rng.uniform(0.0, 1.0, size=(FRAMES, *shape)).astype(np.float32)  # images in [0, 1], as bnn_pynq's


def assert_close_to_qonnx(path: str, x: np.ndarray, golden: np.ndarray) -> None:
    """Within float32 rounding of QONNX's execution of the exported file, on every element; same argmax."""
    expect = reference.execute(reference.original_model(path), x)
    close = np.isclose(golden, expect, rtol=1e-6, atol=1e-6)
    assert close.all(), f"{close.mean():.4%} of the outputs within float32 rounding of QONNX's"
    np.testing.assert_array_equal(golden.argmax(-1), expect.argmax(-1))


@pytest.mark.parametrize("name", [*BNN, "mobilenet"])
def test_stock_network_lowers_and_matches_qonnx(lowered, name):
    path, shape, graph = lowered(name)
    assert graph.tensors[graph.input.tensor].shape == shape
    if name != "mobilenet":
        assert [op for op, _ in graph.input.pre] == ["mul", "sub"], "2 * x - 1 is computed on the host"
    else:
        depthwise = [n for n in graph.nodes if isinstance(n, ir.Conv) and n.depthwise]
        assert len(depthwise) == 4
    x = frames(name, shape)
    assert_close_to_qonnx(path, x, run(graph, x))


def test_host_json_carries_the_preprocessing(lowered):
    """host.json's input.pre gives the deployed host (PYNQ driver, C-sim) the golden model's input codes."""
    path, shape, graph = lowered("tfc_1w1a")
    host = {"input": input_to_json(graph.input, shape), "output": output_to_json(graph.output)}
    assert [step["op"] for step in host["input"]["pre"]] == ["mul", "sub"]
    x = frames("tfc_1w1a", shape)
    np.testing.assert_array_equal(Host(host).quantize(x), quantize_input(graph.input, x))
    host["input"]["pre"][1]["op"] = "pow"
    with pytest.raises(ValueError, match=r"^host.json: input.pre\[1\].op must be one of mul, add, sub, rsub, div$"):
        Host(host)


@pytest.mark.parametrize("name", BUILT)
def test_stock_network_csim_equals_golden(lowered, tmp_path, name):
    path, shape, graph = lowered(name)
    pipeline.build_graph(graph, "pynq-z2", tmp_path / "out", Path(path).name, model_file=Path(path))
    x = frames(name, shape)
    golden = run(graph, x)
    np.testing.assert_array_equal(CSim(tmp_path / "out").run(x), golden)
    assert_close_to_qonnx(path, x, golden)


@pytest.mark.parametrize(
    "name, message",
    [
        (
            "mobilenet_stock",
            r"^error: Conv node 'Conv_0' reads the model input directly; the model input must be quantized "
            r"\(Quant or BipolarQuant\) before any other op \(only shape ops and Mul, Add, Sub or Div by constants "
            r"may come before the quantizer, which the host computes\): put a quantizer such as "
            r"brevitas.nn.QuantIdentity before the first layer$",
        ),
        (
            "squared_input",
            r"^error: Mul node 'Mul_0' combines the model input with input 1, which is not a constant; before the "
            r"input quantizer only shape ops and Mul, Add, Sub or Div by constants can be folded into the "
            r"host-side input quantization$",
        ),
        (
            "dense_after_per_channel",
            r"^error: Conv node 'Conv_1': the input has a per-channel scale \(from Quant node 'Quant_\d+'\); this "
            r"convolution mixes channels, which needs one scale there \(only a depthwise convolution absorbs "
            r"per-channel scales\): use a per-tensor activation scale \(scaling_per_output_channel=False\) on the "
            r"quantizer before it$",
        ),
    ],
)
def test_unsupported_stock_patterns_exit_2_naming_the_node(exported, tmp_path, name, message):
    path, _ = exported(name)
    result = CliRunner().invoke(main, ["build", path, "--board", "pynq-z2", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert re.match(message, result.stderr.strip()), result.stderr
