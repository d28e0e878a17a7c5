"""Accumulator bound math (shared/ALGORITHMS.md section 1). Integers only: never float logarithms.

Inputs lie in [mu, nu]; a channel's integer weights q split into p = sum of positive q and n = sum of negative
q. The exact range of the dot product is [mu*p + nu*n, nu*p + mu*n] (every partial sum of a running
accumulator lies in it too), shifted by an integer bias.
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
    rows = [[int(v) for v in row] for row in w.tolist()]
    if tile is not None:
        if tile < 1:
            raise ValueError(f"tile must be a positive integer, not {tile!r}")
        return _tiled(rows, mu, nu, tile)
    biases = [0] * len(rows) if bias is None else [int(b) for b in np.asarray(bias).reshape(-1).tolist()]
    los, his = [], []
    for row, b in zip(rows, biases):
        lo, hi = _row_range(row, mu, nu)
        los.append(lo + b)
        his.append(hi + b)
    return los, his


def _row_range(row, mu, nu):
    p = sum(v for v in row if v > 0)
    n = sum(v for v in row if v < 0)
    return mu * p + nu * n, nu * p + mu * n


def _tiled(rows, mu, nu, tile):
    los, his = [], []
    for row in rows:
        ranges = [_row_range(row[i : i + tile], mu, nu) for i in range(0, len(row), tile)]
        los.append(min(r[0] for r in ranges))
        his.append(max(r[1] for r in ranges))
    return los, his


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
    w = w.reshape(w.shape[0], -1)
    step = tile or w.shape[1]
    biases = [0] * w.shape[0] if bias is None else [int(b) for b in np.asarray(bias).reshape(-1).tolist()]
    los, his = [], []
    for row, b in zip(w.tolist(), biases):
        lo = hi = b
        run_lo = run_hi = b
        for i in range(0, len(row), step):
            t_lo, t_hi = _row_range(row[i : i + step], mu, nu)
            run_lo, run_hi = run_lo + t_lo, run_hi + t_hi
            lo, hi = min(lo, run_lo), max(hi, run_hi)
        los.append(lo)
        his.append(hi)
    return los, his


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
