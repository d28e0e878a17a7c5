"""Accumulator bound math (docs/algorithms.md#accumulator-bounds). Integers only: never float logarithms.

Inputs lie in [mu, nu]; a channel's integer weights q split into p = sum of positive q and n = sum of negative
q. The exact range of the dot product is [mu*p + nu*n, nu*p + mu*n], shifted by an integer bias; every partial
sum of a running accumulator lies in it too when 0 is a legal input (prefix_range does not assume it).
"""

from __future__ import annotations

import numpy as np


def accumulator_range(weights, mu: int, nu: int, bias=None, tile: int | None = None):
    """Exact (lo, hi) per output channel of sum_k weights[o, k] * x_k for integer x_k in [mu, nu].

    Args:
        weights: integer array [OC, K] (a conv's [OC, IC/g, kh, kw] is flattened input-channel major).
        bias: optional integer per channel, added into the accumulator.
        tile: with a tile size T the K inputs are split into contiguous tiles of T and the range is the
            widest over tiles of one tile's partial sum (bias not included: it enters the outer sum).
    Returns two lists of Python ints (exact, unbounded).
    """
    w = np.asarray(weights)
    if w.ndim < 2:
        raise ValueError(f"weights must be [OC, K], not of shape {w.shape}")
    w = w.reshape(w.shape[0], -1)
    if not np.issubdtype(w.dtype, np.integer):
        raise ValueError(f"weights must be integers, not {w.dtype}")
    if mu > nu:
        raise ValueError(f"empty input range [{mu}, {nu}]")
    if tile is not None and tile < 1:
        raise ValueError(f"tile must be a positive integer, not {tile!r}")
    w = exact_array(w, mu, nu, bias)
    if tile is not None:
        lo, hi = _tile_sums(w, mu, nu, tile)
        return _min(lo, 1).tolist(), _max(hi, 1).tolist()
    b = _bias(bias, w)
    lo, hi = _tile_sums(w, mu, nu, None)
    return (_min(lo, 1) + b).tolist(), (_max(hi, 1) + b).tolist()


def exact_array(weights, mu: int, nu: int, bias=None) -> np.ndarray:
    """The weights as int64 when every partial sum of products (and the bias) fits int64, else as Python ints.

    numpy's int64 arithmetic is then exact (the fast path); the object array computes the same with Python's
    unbounded ints (the exact path), so both give identical results.
    """
    w = np.asarray(weights)
    w = w.reshape(w.shape[0], -1)
    w_max = max(-int(w.min()), int(w.max())) if w.size else 0
    b = np.asarray(0 if bias is None else bias).reshape(-1)
    b_max = max(-int(b.min()), int(b.max())) if b.size else 0
    bound = max(w_max, 1) * max(w.shape[1], 1) * max(abs(int(mu)), abs(int(nu)), 1) + b_max
    return w.astype(np.int64, copy=False) if bound < _INT64_SAFE else w.astype(object)


_INT64_SAFE = 1 << 62
_CHUNK = 1 << 20  # elements per block of rows: bounds the temporaries on large layers


def _bias(bias, w: np.ndarray) -> np.ndarray:
    """The bias per output channel, in the dtype of w (int64 or Python ints), zeros when None."""
    if bias is None:
        return np.zeros(w.shape[0], dtype=w.dtype)
    b = np.broadcast_to(np.asarray(bias).reshape(-1), (w.shape[0],))
    return b.astype(w.dtype) if w.dtype == object else b.astype(np.int64)


def _tiles(w: np.ndarray, tile: int | None) -> np.ndarray:
    """[OC, K] -> [OC, tiles, T], zero padded (zeros change no sum)."""
    oc, k = w.shape
    tile = max(1, k if tile is None else tile)
    count = -(-k // tile)
    if count * tile != k:
        padded = np.zeros((oc, count * tile), dtype=w.dtype)
        padded[:, :k] = w
        w = padded
    return w.reshape(oc, count, tile)


def _tile_sums(w: np.ndarray, mu: int, nu: int, tile: int | None):
    """Per channel and tile, the exact range of the tile's sum: [mu*p + nu*n, nu*p + mu*n], shape [OC, tiles]."""
    p, n = _by_rows(_positive_negative, _tiles(w, tile))
    mu, nu = _scalar(mu, w), _scalar(nu, w)
    return mu * p + nu * n, nu * p + mu * n


def _positive_negative(t: np.ndarray):
    """Sums over the last axis of the positive and of the negative entries."""
    p = np.maximum(t, 0).sum(axis=2)
    return p, t.sum(axis=2) - p


def _by_rows(fn, t: np.ndarray):
    """fn applied to blocks of rows of t, its outputs concatenated (same result, bounded temporaries)."""
    step = max(1, _CHUNK // max(1, t[0].size)) if len(t) else 1
    parts = [fn(t[i : i + step]) for i in range(0, max(len(t), 1), step)]
    return tuple(np.concatenate(outputs) for outputs in zip(*parts))


def _scalar(v: int, w: np.ndarray):
    return int(v) if w.dtype == object else np.int64(v)


def _min(a: np.ndarray, axis: int) -> np.ndarray:
    return a.min(axis=axis) if a.shape[axis] else np.zeros(a.shape[0], dtype=a.dtype)


def _max(a: np.ndarray, axis: int) -> np.ndarray:
    return a.max(axis=axis) if a.shape[axis] else np.zeros(a.shape[0], dtype=a.dtype)


def bits_for_range(lo: int, hi: int, symmetric: bool = False) -> int:
    """Bits of the narrowest integer type holding [lo, hi].

    Unsigned (bit_length(hi), at least 1) when lo >= 0, else two's complement, what ap_int<P> holds:
    1 + bit_length(max(hi, -lo - 1)). symmetric=True uses the A2Q/AXE convention 1 + bit_length(max(hi, -lo)).
    """
    lo, hi = int(lo), int(hi)
    if lo > hi:
        raise ValueError(f"empty range [{lo}, {hi}]")
    if lo >= 0 and not symmetric:
        return max(1, hi.bit_length())
    if symmetric:
        return 1 + max(hi, -lo).bit_length()
    return 1 + max(hi, -lo - 1).bit_length()


def datatype_bound_bits(k: int, input_bits: int, weight_bits: int, input_signed: bool) -> int:
    """A2Q/AXE data-type bound P >= ceil(alpha + log2(1 + 2^-alpha) + 1), alpha = log2 K + N + M - 1 - signed.

    Computed exactly: 2^alpha * (1 + 2^-alpha) = 2^alpha + 1 = K * 2^(N+M-1-s) + 1, so
    P = 1 + ceil(log2(K * 2^(N+M-1-s) + 1)).
    """
    e = input_bits + weight_bits - 1 - (1 if input_signed else 0)
    numerator = k * (1 << e) if e >= 0 else None
    if numerator is None:  # alpha below log2 K: only 1-bit signed operands; use the rational form
        from fractions import Fraction

        value = Fraction(k, 1 << -e) + 1
        return 1 + _ceil_log2_fraction(value)
    return 1 + _ceil_log2(numerator + 1)


def l1_bound_bits(l1_norm: int, input_bits: int, input_signed: bool) -> int:
    """The A2Q bound as a width: the least P with l1_norm <= (2^(P-1) - 1) * 2^(s - N) (signed P bits)."""
    shift = input_bits - (1 if input_signed else 0)
    need = l1_norm << shift if shift >= 0 else -(-l1_norm >> -shift)
    return 1 + _ceil_log2(need + 1)


def a2q_plus_bits(l1_norm: int, input_bits: int) -> int:
    """A2Q+ zero-centred bound as a width: the least P with l1_norm <= (2^P - 2) / (2^N - 1).

    Valid only for channels whose float weights were centred before rounding toward zero (A2Q+ training);
    reported for comparison, never used to size hardware.
    """
    return _ceil_log2(l1_norm * ((1 << input_bits) - 1) + 2)


def prefix_range(weights, mu: int, nu: int, bias=None, tile: int | None = None):
    """Range of a running accumulator that starts at the bias and adds one tile of products per step.

    Exact over every prefix of tiles (every value the outer accumulator register takes), per channel. When the
    input range contains 0 this equals accumulator_range (a prefix sum is a subset sum); it is computed anyway,
    so the width stays safe for input ranges that exclude 0.
    """
    w = np.asarray(weights)
    w = exact_array(w.reshape(w.shape[0], -1), mu, nu, bias)
    b = _bias(bias, w)[:, None]
    lo, hi = _tile_sums(w, mu, nu, tile)
    run_lo = np.concatenate([b, b + np.cumsum(lo, axis=1)], axis=1)
    run_hi = np.concatenate([b, b + np.cumsum(hi, axis=1)], axis=1)
    return run_lo.min(axis=1).tolist(), run_hi.max(axis=1).tolist()


def tile_prefix_range(weights, mu: int, nu: int, tile: int):
    """Per channel, the range of every partial sum inside one tile of `tile` inputs, from 0 (the inner adder).

    The widest over tiles of prefix_range(tile_weights, mu, nu, None, 1), as lists of Python ints.
    """
    w = np.asarray(weights)
    w = exact_array(w.reshape(w.shape[0], -1), mu, nu)
    mu, nu = _scalar(mu, w), _scalar(nu, w)

    def extremes(t):
        zero = np.zeros((t.shape[0], 1), dtype=t.dtype)
        lo = np.cumsum(np.where(t > 0, mu * t, nu * t), axis=2).reshape(t.shape[0], -1)
        hi = np.cumsum(np.where(t > 0, nu * t, mu * t), axis=2).reshape(t.shape[0], -1)
        return np.concatenate([zero, lo], axis=1).min(axis=1), np.concatenate([zero, hi], axis=1).max(axis=1)

    lo, hi = _by_rows(extremes, _tiles(w, tile))
    return lo.tolist(), hi.tolist()


def tiled_ranges(weights, mu: int, nu: int, bias, tile: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """The two registers of a multi-stage accumulator over all channels, tiles of `tile` inputs:
    ((lo, hi) of the running sum of tiles, bias included; (lo, hi) of a partial sum inside one tile).

    The same numbers as (min, max) of prefix_range(weights, mu, nu, bias, tile) and of
    tile_prefix_range(weights, mu, nu, tile), from the running sums (running_sums), which do not depend on the
    tile: a planner weighing several SIMD widths of one layer computes them once.
    """
    return ranges_of_running_sums(running_sums(weights, mu, nu, bias), bias, tile)


def running_sums(weights, mu: int, nu: int, bias=None) -> tuple[np.ndarray, np.ndarray]:
    """Per channel, the least and the largest value of every prefix of the dot product from 0, [OC, K + 1]:
    entry j sums the extreme products of the first j inputs (int64 when exact_array allows, else Python ints)."""
    w = np.asarray(weights)
    w = exact_array(w.reshape(w.shape[0], -1), mu, nu, bias)
    mu, nu = _scalar(mu, w), _scalar(nu, w)
    zero = np.zeros((w.shape[0], 1), dtype=w.dtype)
    positive = w > 0
    lo = np.cumsum(np.where(positive, mu * w, nu * w), axis=1, dtype=w.dtype)
    hi = np.cumsum(np.where(positive, nu * w, mu * w), axis=1, dtype=w.dtype)
    return np.concatenate([zero, lo], axis=1), np.concatenate([zero, hi], axis=1)


def ranges_of_running_sums(sums: tuple[np.ndarray, np.ndarray], bias, tile: int):
    """tiled_ranges from the running sums of running_sums(weights, mu, nu, bias)."""
    s_lo, s_hi = sums
    k = s_lo.shape[1] - 1
    tile = max(1, tile)
    count = -(-k // tile)
    ends = np.minimum(np.arange(1, count + 1) * tile, k)  # the prefix after each tile (the last one may be short)
    b = _bias(bias, s_lo)[:, None]
    run_lo, run_hi = np.concatenate([b, b + s_lo[:, ends]], axis=1), np.concatenate([b, b + s_hi[:, ends]], axis=1)
    outer = (int(run_lo.min()), int(run_hi.max()))
    inner = (int(min(0, _minimum(_within_tiles(s_lo, tile, count)))),
             int(max(0, _maximum(_within_tiles(s_hi, tile, count)))))  # fmt: skip
    return outer, inner


def _within_tiles(s: np.ndarray, tile: int, count: int) -> np.ndarray:
    """Every prefix sum inside a tile, from the tile's start: [OC, count, tile] (a short last tile repeats its
    total, as zero padding would)."""
    k = s.shape[1] - 1
    body = s[:, 1:]
    if count * tile != k:
        body = np.concatenate([body, np.repeat(s[:, -1:], count * tile - k, axis=1)], axis=1)
    starts = s[:, 0 : count * tile : tile]
    return body.reshape(s.shape[0], count, tile) - starts[:, :, None]


def _minimum(a: np.ndarray):
    return a.min() if a.size else 0


def _maximum(a: np.ndarray):
    return a.max() if a.size else 0


def l1_bound(acc_bits: int, input_bits: int, input_signed: bool) -> int:
    """A2Q: the largest integer l1 norm ||q||_1 allowed by P signed accumulator bits, floor(A * 2^(s - N))."""
    a = (1 << (acc_bits - 1)) - 1
    shift = input_bits - (1 if input_signed else 0)
    return a >> shift if shift >= 0 else a << -shift


def _ceil_log2(v: int) -> int:
    return (v - 1).bit_length() if v > 0 else 0


def _ceil_log2_fraction(v) -> int:
    e = 0
    while (1 << e) < v if e >= 0 else v * (1 << -e) > 1:
        e += 1
    return e
