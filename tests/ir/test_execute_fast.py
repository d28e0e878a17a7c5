"""The executor's fast paths (float32/float64 BLAS, narrowed thresholds, per-tap pools) against slow references in
Python integers, wrapped to int64 as numpy's int64 arithmetic wraps, at magnitudes that take every path."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fpgaq.ir import graph as ir
from fpgaq.ir.execute import EXECUTORS, exact_dtype, magnitude
from fpgaq.ir.types import IntType

# (input magnitude, weight magnitude): float32's range, float64's, and int64 sums that wrap around
MAGNITUDES = {"float32": (2**7, 2**3), "float64": (2**26, 2**12), "int64": (2**62, 2**40)}


def node(cls, **fields):
    return cls(name="n", inputs=("a",), output="b", origin="test", **fields)


def wrap(values: np.ndarray) -> np.ndarray:
    """Python integers (an object array) -> int64 modulo 2**64, as numpy's int64 sums wrap."""
    return np.array([(int(v) + 2**63) % 2**64 - 2**63 for v in values.ravel()], dtype=np.int64).reshape(values.shape)


def pyints(values) -> np.ndarray:
    """An object array of Python ints (exact products and sums at any size)."""
    values = np.asarray(values)
    return np.array([int(v) for v in values.ravel()] + [None], dtype=object)[:-1].reshape(values.shape)


def extremes(rng, size, limit: int) -> np.ndarray:
    """Integers in [-limit, limit] (within int64), with the limits themselves over-represented."""
    values = rng.integers(-limit, limit, size=size, endpoint=True)
    corners = rng.choice(np.array([-limit, limit, 0, 1, -1], dtype=np.int64), size=size)
    return np.where(rng.random(size) < 0.3, corners, values)


def conv_reference(x, w, bias, strides, pads, dilations, group, pad_value):
    """ONNX Conv by explicit loops over output channels, positions, input channels and taps, in Python ints."""
    nd = w.ndim - 2
    xp = pyints(np.pad(x, [(0, 0), (0, 0)] + [(pads[i], pads[i + nd]) for i in range(nd)], constant_values=pad_value))
    oc, cg, kernel = w.shape[0], w.shape[1], w.shape[2:]
    out_sp = tuple((xp.shape[2 + i] - dilations[i] * (kernel[i] - 1) - 1) // strides[i] + 1 for i in range(nd))
    out = np.zeros((x.shape[0], oc) + out_sp, dtype=object)
    for o in range(oc):
        first = (o // (oc // group)) * cg
        for pos in np.ndindex(*out_sp):
            acc = np.zeros(x.shape[0], dtype=object) + (0 if bias is None else int(bias[o]))
            for ci in range(cg):
                for tap in np.ndindex(*kernel):
                    at = tuple(p * s + t * d for p, t, s, d in zip(pos, tap, strides, dilations))
                    acc = acc + xp[(slice(None), first + ci) + at] * int(w[(o, ci) + tap])
            out[(slice(None), o) + pos] = acc
    return wrap(out)


@settings(max_examples=60, deadline=None)
@given(
    nd=st.integers(1, 2),
    k=st.integers(1, 3),
    stride=st.integers(1, 2),
    dilation=st.integers(1, 2),
    group=st.sampled_from([1, 2, "depthwise"]),
    pads=st.tuples(st.integers(0, 2), st.integers(0, 2)),
    path=st.sampled_from(sorted(MAGNITUDES)),
    bias=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_conv_equals_loops(nd, k, stride, dilation, group, pads, path, bias, seed):
    rng = np.random.default_rng(seed)
    cin, groups, cout = (3, 3, 3) if group == "depthwise" else (2 * group, group, 3 * group)
    xmax, wmax = MAGNITUDES[path]
    x = extremes(rng, (2, cin) + (5,) * nd, xmax)
    w = extremes(rng, (cout, cin // groups) + (k,) * nd, wmax)
    b = extremes(rng, (cout,), 2**40) if bias else None
    pad_value = int(extremes(rng, (), xmax))
    fields = dict(strides=(stride,) * nd, pads=(pads[0],) * nd + (pads[1],) * nd, dilations=(dilation,) * nd)
    conv = node(ir.Conv, weight_type=IntType(64, True), weight=w, bias=b, group=groups, pad_value=pad_value, **fields)
    expect = conv_reference(x, w, b, fields["strides"], fields["pads"], fields["dilations"], groups, pad_value)
    np.testing.assert_array_equal(EXECUTORS[ir.Conv](conv, x), expect)


@settings(max_examples=40, deadline=None)
@given(path=st.sampled_from(sorted(MAGNITUDES)), lead=st.sampled_from([(3,), (2, 4)]), seed=st.integers(0, 2**31 - 1))
def test_dense_equals_loops(path, lead, seed):
    rng = np.random.default_rng(seed)
    xmax, wmax = MAGNITUDES[path]
    x, w, b = extremes(rng, lead + (7,), xmax), extremes(rng, (5, 7), wmax), extremes(rng, (5,), 2**40)
    dense = node(ir.Dense, weight=w, bias=b, weight_type=IntType(64, True))
    expect = (pyints(x)[..., None, :] * pyints(w)).sum(axis=-1) + pyints(b)
    np.testing.assert_array_equal(EXECUTORS[ir.Dense](dense, x), wrap(expect))


def test_exact_dtype_takes_the_narrowest_float_whose_sums_are_exact():
    w = np.array([[1, -1, 1, 1]])  # every partial sum at most 4 * |a|
    assert exact_dtype(2**21, w) is np.float32
    assert exact_dtype(2**21 + 1, w) is np.float64
    assert exact_dtype(2**50, w) is np.float64
    assert exact_dtype(2**50 + 1, w) is np.int64
    assert exact_dtype(2**63, np.zeros((2, 3), dtype=np.int64)) is np.float32
    assert magnitude(np.array([-(2**63), 5])) == 2**63  # np.abs would wrap this to -2**63
    assert magnitude(np.array([3, -2]), -9) == 9
    assert magnitude(np.zeros((0, 4), dtype=np.int64)) == 0


def test_sums_past_a_floats_integer_range_stay_exact():
    """Sums of 2**24 + 1 and 2**53 + 1, which float32 and float64 would round to even: exact, not close."""
    for bits in (24, 53):
        x = np.array([[2**bits, 1, 0], [2**bits - 2, 1, 1], [-(2**bits), -1, 0]])
        w = np.array([[1, 1, 1], [1, 1, -1]])
        dense = node(ir.Dense, weight=w, bias=None, weight_type=IntType(2, True))
        expect = (pyints(x)[:, None, :] * pyints(w)).sum(axis=-1)
        np.testing.assert_array_equal(EXECUTORS[ir.Dense](dense, x), wrap(expect))
        conv = node(ir.Conv, weight_type=IntType(2, True), weight=w.reshape(2, 1, 3), bias=None, strides=(1,),
                    pads=(0, 0), dilations=(1,), group=1, pad_value=0)  # fmt: skip
        expect = conv_reference(x[:, None, :], w.reshape(2, 1, 3), None, (1,), (0, 0), (1,), 1, 0)
        np.testing.assert_array_equal(EXECUTORS[ir.Conv](conv, x[:, None, :]), expect)


@pytest.mark.parametrize("levels", [0, 1, 15, 64, 200])
@pytest.mark.parametrize("limit", [100, 2**15 - 1, 2**15, 2**31, 2**62])
def test_threshold_equals_counting(levels, limit):
    rng = np.random.default_rng(levels + limit % 997)
    x = extremes(rng, (4, 3, 5, 2), limit)
    thresholds = extremes(rng, (3, 1, 1, levels), limit + limit // 2 if limit < 2**62 else 2**63 - 1)
    if levels > 64:  # the binary search's precondition, as lowering guarantees
        thresholds = np.sort(thresholds, axis=-1)
    sign = np.array([1, -1, 1]).reshape(3, 1, 1)
    thr = node(ir.Threshold, thresholds=thresholds, sign=sign, base=-3)
    y = pyints(x * sign)[..., None]
    expect = (y >= pyints(thresholds)).sum(axis=-1) - 3
    out = EXECUTORS[ir.Threshold](thr, x)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out, expect.astype(np.int64))


@pytest.mark.parametrize(("kernel", "strides", "pads"), [((2, 2), (2, 2), (0, 0, 1, 1)), ((3, 3), (1, 2), (1, 1, 1, 1)),
                                                          ((5, 5), (5, 5), (0, 0, 0, 0))])  # fmt: skip
def test_pools_equal_loops(kernel, strides, pads):
    rng = np.random.default_rng(0)
    x = extremes(rng, (2, 3, 10, 10), 2**62)
    sign = np.array([1, -1, 1]).reshape(3, 1, 1)
    window = dict(kernel=kernel, strides=strides, pads=pads)
    pooled = {
        "max": EXECUTORS[ir.MaxPool](node(ir.MaxPool, dilations=(1, 1), sign=sign, **window), x),
        "sum": EXECUTORS[ir.SumPool](node(ir.SumPool, pad_value=7, **window), x),
    }
    floor = np.iinfo(np.int64).min // 2
    for kind, out in pooled.items():
        fill = floor if kind == "max" else 7
        y = x * sign if kind == "max" else x
        yp = pyints(np.pad(y, [(0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])], constant_values=fill))
        expect = np.zeros(out.shape, dtype=object)
        for i, j in np.ndindex(*out.shape[2:]):
            win = yp[:, :, i * strides[0] : i * strides[0] + kernel[0], j * strides[1] : j * strides[1] + kernel[1]]
            flat = win.reshape(win.shape[:2] + (-1,))
            expect[:, :, i, j] = flat.max(axis=-1) * sign[:, 0, 0] if kind == "max" else flat.sum(axis=-1)
        np.testing.assert_array_equal(out, wrap(expect), err_msg=kind)


def test_an_empty_batch_runs():
    x = np.zeros((0, 2, 4, 4), dtype=np.int64)
    conv = node(ir.Conv, weight_type=IntType(2, True), weight=np.ones((3, 2, 3, 3), dtype=np.int64), bias=None,
                strides=(1, 1), pads=(1, 1, 1, 1), dilations=(1, 1), group=1, pad_value=0)  # fmt: skip
    thr = node(ir.Threshold, thresholds=np.array([1, 2, 3]), sign=np.array(1), base=0)
    assert EXECUTORS[ir.Conv](conv, x).shape == (0, 3, 4, 4)
    assert EXECUTORS[ir.Threshold](thr, x).shape == (0, 2, 4, 4)
