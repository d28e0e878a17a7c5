"""A sweep specification (SPEC.yaml) validated before any work starts, and the points it spans.

    model: examples/digits_float.py:mlp   # float model factory, as `fpgaq quantize` takes it
    data: digits                          # or a .npz, as `fpgaq quantize` takes it
    method: [optq]                        # rtn | gpfq | optq
    weight_bits: [4]
    act_bits: [4]
    accumulator_bits: [12, 16, null]      # null (or the key omitted): unconstrained
    board: [pynq-z2]
    target_fps: [max]                     # optional: max, a number, or null (the default folding)
    input_bits: 8                         # optional, one value
    backend: hls                          # optional: hls | rtl
    synth: yosys                          # optional: Yosys resource counts per point (rtl backend only)
    seed: 0                               # optional

The cross product of the lists is the set of points, in a fixed order. A scalar where a list is expected is a
list of one. Unknown keys, unknown values, boards that do not exist and accumulator widths no weight can meet
are refused naming them (SweepError, exit 2). Paths in the spec are relative to the spec file's folder.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path

import yaml

from fpgaq import escape
from fpgaq.boards import load_board
from fpgaq.errors import FpgaqError

METHODS = ("rtn", "gpfq", "optq")
AXES = ("method", "weight_bits", "act_bits", "accumulator_bits", "board", "target_fps")  # a point's parameters
SCALARS = ("model", "data", "input_bits", "backend", "synth", "seed")
MAX_POINTS = 10_000
MAX_SPEC_BYTES = 1 << 20


class SweepError(FpgaqError):
    """A sweep that cannot start: a bad spec, an unreachable cluster."""


@dataclass(frozen=True)
class Point:
    method: str
    weight_bits: int
    act_bits: int
    accumulator_bits: int | None
    board: str
    target_fps: float | str | None

    def params(self) -> dict:
        return {axis: getattr(self, axis) for axis in AXES}

    @property
    def ident(self) -> str:
        """A stable name for the point's folder: its parameters, readable, and a hash of them."""
        p = "free" if self.accumulator_bits is None else self.accumulator_bits
        fps = self.target_fps if isinstance(self.target_fps, float) else f"{self.target_fps or 'default'}"
        fps = f"{fps:g}" if isinstance(fps, float) else fps
        digest = hashlib.sha256(json.dumps(self.params(), sort_keys=True).encode()).hexdigest()[:8]
        name = f"{self.method}-w{self.weight_bits}a{self.act_bits}-p{p}-{self.board}-fps{fps}-{digest}"
        return "".join(c if c.isalnum() or c in "-._" else "_" for c in name)


@dataclass(frozen=True)
class Spec:
    model: str  # SCRIPT.py:FUNCTION, the script's path absolute
    data: str  # "digits" or an absolute .npz path
    input_bits: int
    backend: str
    synth: str | None
    seed: int
    axes: dict  # axis -> tuple of values

    def points(self) -> list[Point]:
        return [Point(*values) for values in itertools.product(*(self.axes[a] for a in AXES))]

    def settings(self) -> dict:
        """What every point shares (recorded with each point, so a changed spec is not mistaken for a finished one)."""
        return {"model": self.model, "data": self.data, "input_bits": self.input_bits, "backend": self.backend,
                "synth": self.synth, "seed": self.seed}  # fmt: skip


def _name(value) -> str:
    return escape.terminal(repr(value))


def _int(key: str, value, lo: int, hi: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise SweepError(f"{key}: {_name(value)} is not an integer from {lo} to {hi}")
    return value


def _list(data: dict, key: str, default) -> list:
    value = data.get(key, default)
    values = value if isinstance(value, list) else [value]
    if not values:
        raise SweepError(f"{key}: an empty list spans no points")
    if len(set(map(json.dumps, values))) != len(values):
        raise SweepError(f"{key}: a value is listed twice")
    return values


def _target_fps(value):
    if value is None or value == "max":
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0:
        return float(value)
    raise SweepError(f"target_fps: {_name(value)} is not 'max', a positive number or null")


def _path(text, key: str, base: Path) -> Path:
    if not isinstance(text, str) or not text or "\0" in text:
        raise SweepError(f"{key}: {_name(text)} is not a file name")
    path = Path(text)
    return path if path.is_absolute() else base / path


def parse_spec(data, base: Path) -> Spec:
    """Validate a spec mapping (as read from YAML); relative paths are taken from `base`."""
    if not isinstance(data, dict):
        raise SweepError(f"a sweep spec is a mapping of keys, not {type(data).__name__}")
    unknown = [key for key in data if key not in AXES + SCALARS]
    if unknown:
        raise SweepError(f"unknown key {_name(unknown[0])}; known: {', '.join(SCALARS[:2] + AXES + SCALARS[2:])}")
    for key in ("model", "data"):
        if key not in data:
            raise SweepError(f"missing key {key!r}")
    model = data["model"]
    if not isinstance(model, str) or model.count(":") < 1:
        raise SweepError(f"model: {_name(model)} is not SCRIPT.py:FUNCTION")
    script, _, function = model.rpartition(":")
    script_path = _path(script, "model", base)
    if script_path.suffix != ".py" or not function.isidentifier():
        raise SweepError(f"model: {_name(model)} is not SCRIPT.py:FUNCTION")
    if not script_path.is_file():
        raise SweepError(f"model: the script {_name(str(script_path))} does not exist")
    source = data["data"]
    if source != "digits":
        path = _path(source, "data", base)
        if path.suffix != ".npz" or not path.is_file():
            raise SweepError(f"data: {_name(source)} is neither 'digits' nor an existing .npz file")
        source = str(path.resolve())
    input_bits = _int("input_bits", data.get("input_bits", 8), 1, 16)
    backend = data.get("backend", "hls")
    if backend not in ("hls", "rtl"):
        raise SweepError(f"backend: {_name(backend)} is not 'hls' or 'rtl'")
    synth = data.get("synth")
    if synth not in (None, "yosys"):
        raise SweepError(f"synth: {_name(synth)} is not 'yosys' or null")
    if synth == "yosys" and backend != "rtl":
        raise SweepError("synth: yosys measures RTL builds; set backend: rtl")
    seed = _int("seed", data.get("seed", 0), 0, (1 << 31) - 1)

    axes = {}
    methods = _list(data, "method", "optq")
    for m in methods:
        if m not in METHODS:
            raise SweepError(f"method: {_name(m)} is not one of {', '.join(METHODS)}")
    axes["method"] = tuple(methods)
    axes["weight_bits"] = tuple(_int("weight_bits", v, 2, 16) for v in _list(data, "weight_bits", 4))
    axes["act_bits"] = tuple(_int("act_bits", v, 1, 16) for v in _list(data, "act_bits", 4))
    widths = tuple(None if v is None else _int("accumulator_bits", v, 3, 62)
                   for v in _list(data, "accumulator_bits", None))  # fmt: skip
    # one weight of +-1 on N-bit codes already needs N + 1 signed bits, below that every weight is zero: the first
    # layer reads the input_bits input, the others activations (a point whose own act_bits are wider fails alone)
    narrowest = max(input_bits, min(axes["act_bits"])) + 1
    for p in widths:
        if p is not None and p < narrowest:
            raise SweepError(f"accumulator_bits: {p} is below {narrowest}, the width one nonzero weight on "
                             f"{narrowest - 1}-bit inputs needs; no weight width can meet it")  # fmt: skip
    axes["accumulator_bits"] = widths
    boards = _list(data, "board", "pynq-z2")
    for name in boards:
        if not isinstance(name, str):
            raise SweepError(f"board: {_name(name)} is not a board name")
        try:
            load_board(name)
        except FpgaqError as exc:
            raise SweepError(f"board: {exc}") from None
    axes["board"] = tuple(boards)
    axes["target_fps"] = tuple(_target_fps(v) for v in _list(data, "target_fps", None))
    count = math.prod(len(v) for v in axes.values())
    if count > MAX_POINTS:
        raise SweepError(f"the spec spans {count:,} points; at most {MAX_POINTS:,}")
    return Spec(f"{script_path.resolve()}:{function}", source, input_bits, backend, synth, seed, axes)


def load_spec(path: str | Path) -> Spec:
    path = Path(path)
    try:
        raw = path.read_bytes()[: MAX_SPEC_BYTES + 1]
    except OSError as exc:
        raise SweepError(f"cannot read the spec {_name(str(path))}: {exc.strerror}") from None
    if len(raw) > MAX_SPEC_BYTES:
        raise SweepError(f"the spec {_name(str(path))} is over {MAX_SPEC_BYTES:,} bytes")
    try:
        data = yaml.safe_load(raw)
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        raise SweepError(f"the spec {_name(str(path))} is not YAML: {str(exc).splitlines()[0]}") from None
    return parse_spec(data, path.resolve().parent)
