"""The line-buffer window generator, the pooling reducers and the lane-laid-out tables are bit-exact against the
golden model at odd image sizes, strides, asymmetric paddings, dilations and groups, and at foldings with PE = 3,
odd SIMD and SIMD wider than the channels of a group (a converter after the window generator)."""

from __future__ import annotations

import numpy as np
import pytest

from fpgaq import pipeline
from fpgaq.backends.hls.csim import CSim
from fpgaq.ir.execute import execute
from fpgaq.ir.hostio import quantize_input
from fpgaq.plan import kernels as k
from tests.fuzz_graphs import Builder

RNG = np.random.default_rng(3)


def _weights(b: Builder, shape, bits=4) -> str:
    scale = np.float32(0.05)
    w = RNG.integers(-(2 ** (bits - 1)) + 1, 2 ** (bits - 1), size=shape).astype(np.float32) * scale
    return b.quant(b.const(w, "w"), scale, 0.0, bits, True, True, "ROUND")


def _act(b: Builder, x: str, bits=3, signed=False, scale=0.37, rounding="ROUND") -> str:
    return b.quant(x, np.float32(scale), 0.0, bits, signed, False, rounding)


def _dense_head(b: Builder, x: str, features: int, out: int = 5) -> str:
    x = b.node("Flatten", [x], axis=1)
    return _act(b, b.node("MatMul", [x, _weights(b, (features, out))]), bits=4, signed=True)


def conv_odd():
    """3 x 11 x 9 input (odd sizes): a stride-2 convolution with asymmetric padding, a dilated grouped convolution,
    a 3x3 stride-2 max pool with padding (ONNX pads with -inf), 8-bit activations (255 levels: exact
    requantizers, fused and standalone per channel after the pool)."""
    b = Builder()
    x = _act(b, "x", bits=4, signed=True, scale=0.25)
    x = b.node("Conv", [x, _weights(b, (6, 3, 3, 3))], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 0, 2, 1])
    x = _act(b, b.node("Relu", [x]), bits=3)  # 6 x 6 x 4
    x = b.node("Conv", [x, _weights(b, (9, 2, 3, 3))], kernel_shape=[3, 3], pads=[2, 2, 2, 2], dilations=[2, 2],
               group=3)  # fmt: skip
    x = _act(b, x, bits=8, signed=True, scale=0.11)  # 9 x 6 x 4
    x = b.node("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])  # 9 x 3 x 2
    x = b.node("Mul", [x, b.const(np.linspace(0.5, 2.5, 9, dtype=np.float32).reshape(9, 1, 1))])
    x = _act(b, x, bits=8, signed=True, scale=0.013)  # a standalone requantizer of 3 lanes, 9 rows (per channel)
    return b.model((3, 11, 9), _dense_head(b, x, 9 * 3 * 2), (5,)), {
        "conv0": {"pe": 3, "simd": 9},  # lanes gcd(9, 3) = 3, a converter to 9
        "conv1": {"pe": 3, "simd": 6},  # 2 channels per group: lanes 2, a converter to 6
        "dense0": {"pe": 5, "simd": 3},
    }


def depthwise_avgpool():
    """4 x 7 x 7: a depthwise 3x3 convolution (padding 1), a 2x2 average pool with padding and stride 2 (a sum
    pool and a standalone threshold laid out by lanes), a 1x1 convolution with an 8-bit round-to-zero activation
    (255 levels without an affine form: the binary search)."""
    b = Builder()
    x = _act(b, "x", bits=3, signed=False)
    x = b.node("Conv", [x, _weights(b, (4, 1, 3, 3))], kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=4)
    x = _act(b, x, bits=4, signed=True, scale=0.2)
    x = b.node("AveragePool", [x], kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 1, 1], count_include_pad=1)
    x = _act(b, x, bits=3, signed=True, scale=0.13, rounding="FLOOR")  # 4 x 4 x 4
    x = b.node("Conv", [x, _weights(b, (6, 4, 1, 1))], kernel_shape=[1, 1])
    x = _act(b, x, bits=8, signed=True, scale=0.01, rounding="ROUND_TO_ZERO")  # no affine form: a binary search
    return b.model((4, 7, 7), _dense_head(b, x, 6 * 4 * 4), (5,)), {
        "conv0": {"pe": 2, "simd": 3},  # depthwise: a vector-vector unit, 2 channels x 3 kernel positions
        "conv1": {"pe": 3, "simd": 1},
        "dense0": {"pe": 5, "simd": 3},
    }


def conv1d_strided():
    """2 x 23 sequence: a 1-D convolution with kernel 4, stride 3, dilation 2 and padding (2, 1)."""
    b = Builder()
    x = _act(b, "x", bits=4, signed=True, scale=0.3)
    x = b.node("Conv", [x, _weights(b, (3, 2, 4))], kernel_shape=[4], strides=[3], dilations=[2], pads=[2, 1])
    x = _act(b, x, bits=3, signed=True)  # 3 x 7
    return b.model((2, 23), _dense_head(b, x, 3 * 7), (5,)), {"conv0": {"pe": 3, "simd": 8}, "dense0": {"simd": 7}}


def depthwise_strided():
    """6 x 9 x 7: a depthwise 3x3 convolution with stride 2, asymmetric padding and a bias, folded PE 3 x SIMD 9
    (the whole window of three channels per cycle), then a depthwise 2x2 dilated convolution at PE 6, SIMD 1."""
    b = Builder()
    x = _act(b, "x", bits=4, signed=True, scale=0.2)
    bias = b.const(np.linspace(-0.3, 0.4, 6, dtype=np.float32), "bias")
    x = b.node("Conv", [x, _weights(b, (6, 1, 3, 3)), bias], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 0, 1, 1],
               group=6)  # fmt: skip
    x = _act(b, x, bits=3, signed=True, scale=0.3)  # 6 x 5 x 3
    x = b.node("Conv", [x, _weights(b, (6, 1, 2, 2))], kernel_shape=[2, 2], dilations=[2, 2], group=6)
    x = _act(b, x, bits=3, signed=False, scale=0.2)  # 6 x 3 x 1
    folding = {"conv0": {"pe": 3, "simd": 9}, "conv1": {"pe": 6, "simd": 1}, "dense0": {"pe": 5, "simd": 3}}
    return b.model((6, 9, 7), _dense_head(b, x, 6 * 3 * 1), (5,)), folding


CASES = {
    "conv_odd": conv_odd,
    "depthwise_avgpool": depthwise_avgpool,
    "conv1d_strided": conv1d_strided,
    "depthwise_strided": depthwise_strided,
}


@pytest.mark.parametrize("name", list(CASES))
def test_windows_and_pools_are_exact(tmp_path, name):
    model, folding = CASES[name]()
    path = tmp_path / f"{name}.onnx"
    path.write_bytes(model.SerializeToString())
    graph = pipeline.load(path)
    pipeline.build(path, "pynq-z2", tmp_path / "out", folding=folding)
    shape = graph.tensors[graph.input.tensor].shape
    x = np.random.default_rng(11).normal(0.0, 1.5, size=(64, *shape)).astype(np.float32)
    codes = quantize_input(graph.input, x)
    np.testing.assert_array_equal(CSim(tmp_path / "out").run_codes(codes), execute(graph, codes)[graph.output.tensor])


def _plan(name: str, tmp_path) -> k.Plan:
    model, folding = CASES[name]()
    path = tmp_path / f"{name}.onnx"
    path.write_bytes(model.SerializeToString())
    graph = pipeline.load(path)
    return pipeline.plan(graph, pipeline.fold(graph, pipeline.Target.of("pynq-z2"), folding))


def test_cases_exercise_what_they_claim(tmp_path):
    """The foldings above reach the planner as stated: PE 3, converters after window generators, a 255-level
    binary search, requantizers fused and standalone, a standalone threshold with lanes, max and sum pools with
    padding."""
    odd = _plan("conv_odd", tmp_path).kernels
    assert sum(isinstance(x, k.Mvu) and x.pe == 3 for x in odd) == 2
    assert [x.out.width for x in odd if isinstance(x, k.SlidingWindow)] == [3, 2, 3]  # conv, conv, max pool
    assert any(isinstance(x, k.WidthConverter) and x.inp.width == 2 and x.out.width == 6 for x in odd)
    assert any(isinstance(x, k.Mvu) and isinstance(x.activation, k.FusedRequant) and x.pe == 3 for x in odd)
    assert any(isinstance(x, k.MaxPool) and x.window.pt == 1 for x in odd)
    assert any(isinstance(x, k.Requantize) and x.inp.width == 3 and x.rows == 9 for x in odd)
    dw = _plan("depthwise_avgpool", tmp_path).kernels
    assert any(isinstance(x, k.SumPool) and x.window.pt == 0 for x in dw)
    assert any(isinstance(x, k.Mvu) and x.depthwise and x.pe == 2 and x.simd == 3 and x.inp.width == 6 for x in dw)
    assert any(isinstance(x, k.Thresholding) and x.inp.width == 2 for x in dw)  # after a pool of 2 lanes
    assert any(isinstance(x, k.Mvu) and isinstance(x.activation, k.FusedThreshold) and x.activation.levels == 255
               for x in dw)  # fmt: skip
    vvau = [x for x in _plan("depthwise_strided", tmp_path).kernels if isinstance(x, k.Mvu) and x.depthwise]
    assert [(x.pe, x.simd, x.inp.width, x.folds) for x in vvau] == [(3, 9, 27, 2), (6, 1, 6, 4)]
    strided = _plan("conv1d_strided", tmp_path).kernels
    assert any(isinstance(x, k.SlidingWindow) and x.window.sw == 3 and x.window.dw == 2 for x in strided)
