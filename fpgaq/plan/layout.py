"""Stream orders: which IR element each position of a hardware stream carries.

The IR is NCHW per sample; hardware streams are channels-last (NHWC) for spatial tensors and row-major for
vectors. An order is an int array: order[p] = row-major flat index (in the IR tensor) of the element at stream
position p. Reshape keeps flat indices, so it costs nothing; Transpose maps them; a dense layer on a vector
permutes its weight columns instead of the data.
"""

from __future__ import annotations

import functools
import math

import numpy as np


def identity(shape) -> np.ndarray:
    """Row-major order (read-only: remembered per shape, the folding search asks for the same orders often)."""
    return _identity(tuple(int(n) for n in shape))


def channels_last(shape) -> np.ndarray:
    """(C, *spatial) streamed pixel by pixel, channels innermost (read-only, remembered per shape)."""
    return _channels_last(tuple(int(n) for n in shape))


@functools.lru_cache(maxsize=256)
def _identity(shape: tuple) -> np.ndarray:
    return _frozen(np.arange(int(np.prod(shape)), dtype=np.int64))


@functools.lru_cache(maxsize=256)
def _channels_last(shape: tuple) -> np.ndarray:
    if len(shape) < 2:
        return _identity(shape)
    flat = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)
    return _frozen(np.moveaxis(flat, 0, -1).reshape(-1))


def _frozen(arr: np.ndarray) -> np.ndarray:
    arr.setflags(write=False)
    return arr


def transposed(order: np.ndarray, in_shape, perm) -> np.ndarray:
    """The order of transpose(x, perm) when x streams in `order`."""
    flat = np.arange(int(np.prod(in_shape)), dtype=np.int64).reshape(in_shape)
    new_index = np.empty(flat.size, dtype=np.int64)
    new_index[np.transpose(flat, perm).reshape(-1)] = np.arange(flat.size)  # in-flat -> out-flat
    return new_index[order]


def param_index(param_shape, tensor_shape, order: np.ndarray) -> np.ndarray:
    """Flat index into a broadcast parameter array for every stream position."""
    rank = len(tensor_shape)
    pshape = (1,) * (rank - len(param_shape)) + tuple(param_shape)
    coords = np.unravel_index(order, tensor_shape)
    coords = tuple(np.zeros_like(c) if n == 1 else c for c, n in zip(coords, pshape, strict=True))
    return np.ravel_multi_index(coords, pshape)


def period(values: np.ndarray) -> int:
    """The smallest R dividing len(values) with values[p] == values[p % R] for every p."""
    n = len(values)
    for r in range(1, n + 1):
        if n % r == 0 and np.array_equal(values, np.tile(values[:r], n // r)):
            return r
    return n


def divisors(n: int) -> list[int]:
    """The divisors of n, ascending."""
    return list(_divisors(int(n)))


@functools.lru_cache(maxsize=1024)
def _divisors(n: int) -> tuple[int, ...]:
    small = [d for d in range(1, math.isqrt(n) + 1) if n % d == 0] if n > 0 else []
    return tuple(small + [n // d for d in reversed(small) if d * d != n])
