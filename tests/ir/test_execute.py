"""The int64 executor's kernels against torch's float64 operators (exact for these small integers)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from fpgaq.ir import graph as ir
from fpgaq.ir.execute import EXECUTORS
from fpgaq.ir.types import IntType

T = IntType(8, True)


def node(cls, **fields):
    return cls(name="n", inputs=("a",), output="b", origin="test", **fields)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 2),
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(1, 2),
    st.integers(1, 2),
    st.integers(0, 2),
    st.booleans(),
    st.integers(0, 2**31 - 1),
)
def test_conv_matches_torch(nd, k, stride, dilation, group, pad, depthwise, seed):
    rng = np.random.default_rng(seed)
    cin = 4 if depthwise else 2 * group
    groups = cin if depthwise else group
    cout = cin if depthwise else 3 * group
    size = 9
    x = rng.integers(-8, 8, size=(2, cin) + (size,) * nd)
    w = rng.integers(-7, 8, size=(cout, cin // groups) + (k,) * nd)
    b = rng.integers(-100, 100, size=cout)
    conv = node(
        ir.Conv,
        weight_type=IntType(4, True),
        weight=w,
        bias=b,
        strides=(stride,) * nd,
        pads=(pad,) * 2 * nd,
        dilations=(dilation,) * nd,
        group=groups,
        pad_value=0,
    )
    ours = EXECUTORS[ir.Conv](conv, x)
    fn = F.conv1d if nd == 1 else F.conv2d
    ref = fn(
        torch.tensor(x, dtype=torch.float64),
        torch.tensor(w, dtype=torch.float64),
        torch.tensor(b, dtype=torch.float64),
        stride=stride,
        padding=pad,
        dilation=dilation,
        groups=groups,
    )
    np.testing.assert_array_equal(ours, ref.numpy().astype(np.int64))


def test_conv_pads_with_the_zero_point_code():
    x = np.full((1, 1, 3, 3), 5)
    conv = node(
        ir.Conv,
        weight_type=IntType(2, True),
        weight=np.ones((1, 1, 3, 3), dtype=np.int64),
        bias=None,
        strides=(1, 1),
        pads=(1, 1, 1, 1),
        dilations=(1, 1),
        group=1,
        pad_value=2,
    )
    assert EXECUTORS[ir.Conv](conv, x)[0, 0, 0, 0] == 4 * 5 + 5 * 2


@pytest.mark.parametrize("sign", [1, -1])
def test_maxpool_with_decreasing_channels_is_a_minpool(sign):
    x = np.random.default_rng(0).integers(-20, 20, size=(2, 3, 6, 6))
    pool = node(
        ir.MaxPool,
        kernel=(2, 2),
        strides=(2, 2),
        pads=(1, 1, 1, 1),
        dilations=(1, 1),
        sign=np.array([sign, 1, sign]).reshape(3, 1, 1),
    )
    ours = EXECUTORS[ir.MaxPool](pool, x)
    t = torch.tensor(x, dtype=torch.float64)
    mx = F.max_pool2d(t, 2, 2, padding=1).numpy()
    mn = -F.max_pool2d(-t, 2, 2, padding=1).numpy()
    expect = np.stack([mx[:, 0] if sign == 1 else mn[:, 0], mx[:, 1], mx[:, 2] if sign == 1 else mn[:, 2]], 1)
    np.testing.assert_array_equal(ours, expect.astype(np.int64))


def test_sumpool_and_threshold():
    x = np.random.default_rng(1).integers(0, 16, size=(2, 2, 4, 4))
    pool = node(ir.SumPool, kernel=(2, 2), strides=(2, 2), pads=(0, 0, 0, 0), pad_value=0)
    ref = F.avg_pool2d(torch.tensor(x, dtype=torch.float64), 2).numpy() * 4
    np.testing.assert_array_equal(EXECUTORS[ir.SumPool](pool, x), ref.astype(np.int64))
    thr = node(
        ir.Threshold,
        thresholds=np.array([[[[1, 5, 9]]], [[[-9, -5, -1]]]]),
        sign=np.array([1, -1]).reshape(2, 1, 1),
        base=-1,
    )
    out = EXECUTORS[ir.Threshold](thr, x)
    np.testing.assert_array_equal(out[:, 0], -1 + (x[:, 0] >= 1) + (x[:, 0] >= 5) + (x[:, 0] >= 9))
    np.testing.assert_array_equal(out[:, 1], -1 + (x[:, 1] <= 9) + (x[:, 1] <= 5) + (x[:, 1] <= 1))


@pytest.mark.parametrize("param_shape", [(1, 1, 1), (3, 1, 1), (3, 4, 5), (1, 4, 1)])
def test_threshold_binary_search_equals_counting(param_shape):
    from fpgaq.ir.execute import _threshold_search

    rng = np.random.default_rng(0)
    thresholds = np.sort(rng.integers(-300, 300, size=param_shape + (200,)), axis=-1)
    y = rng.integers(-320, 320, size=(7, 3, 4, 5))
    counted = sum((y >= thresholds[..., level]).astype(np.int64) for level in range(200)) - 5
    np.testing.assert_array_equal(_threshold_search(thresholds, y, -5), counted)
