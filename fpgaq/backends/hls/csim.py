"""C-simulation: compile the generated C++ with g++ into a shared library and run it through ctypes.

ap_int/ap_fixed/hls_stream headers come from $XILINX_HLS/include, else from the installed hls4ml wheel's
package data (found at run time, never copied into this repository). Compiled libraries are cached by a hash
of the sources, headers and flags, and loaded from their content-addressed cache path (so a rebuilt library
is never confused with a stale one already loaded in this process).
"""

from __future__ import annotations

import ctypes
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import numpy as np

from fpgaq import outdir
from fpgaq.backends.hls.target import target_flags
from fpgaq.backends.hls.timed import SimulationError, TimedSim, load, load_weights
from fpgaq.errors import FpgaqError
from fpgaq.host import Host

LIBRARY = "libfpgaq_csim.so"
SOURCES = ("top.cpp", "bridge.cpp")  # compiled in parallel, then linked
# -fno-gnu-unique: the statics of inline functions (the timed simulation's state, the overflow log) stay private
# to each library; with GCC's default unique binding every library loaded into one process would share them,
# whatever their layout.
CXXFLAGS = ("-std=c++14", "-fPIC", "-pthread", "-fno-gnu-unique", "-Wall", "-Wno-unknown-pragmas")
# Optimization: -O1, and native integers at -O3 where a frame is at least O3_MACS multiply-accumulates (CNV-w1a1:
# 13.5 frames/s against 7.1 at -O1, for 12 s of g++ against 10.5); below that the extra seconds of g++ (half as
# many again on a small design) never pay back. ap_int stays at -O1: its templates make every higher level slow to
# compile for little gain.
OPT_NATIVE, OPT_SMALL, O3_MACS = "-O3", "-O1", 1_000_000
_CONFIG = re.compile(r"struct \w+ \{(.*?)\n\};", re.DOTALL)
_CONSTANT = re.compile(r"static const int (\w+) = (\d+);")
SIM_INCLUDE = "lib/sim"  # fpgaq's own hls_stream.h (untimed, or the timed simulation's): first on the path


class CSimError(FpgaqError):
    """C-simulation could not be compiled or run."""


class OverflowDetected(CSimError):
    """An instrumented C-simulation saw a value that its declared accumulator width cannot hold."""

    def __init__(self, message: str, layer: str, channel: int):
        super().__init__(message)
        self.layer, self.channel = layer, channel


def ap_include_dir() -> Path:
    """The folder holding ap_int.h and hls_stream.h."""
    xilinx = os.environ.get("XILINX_HLS")
    if xilinx:
        folder = Path(xilinx) / "include"
        if (folder / "ap_int.h").is_file():
            return folder
        raise CSimError(f"XILINX_HLS is set to {xilinx!r} but {folder / 'ap_int.h'} does not exist")
    spec = importlib.util.find_spec("hls4ml")
    if spec is not None and spec.origin:
        folder = Path(spec.origin).parent / "templates" / "vivado" / "ap_types"
        if (folder / "ap_int.h").is_file():
            return folder
    raise CSimError(
        "ap_int.h not found: set XILINX_HLS to a Vitis HLS installation, or install hls4ml "
        "(pip install hls4ml==1.3.0), whose package data has the ap_types headers"
    )


def cache_dir() -> Path:
    root = os.environ.get("FPGAQ_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "fpgaq")
    path = Path(root) / "csim"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _digest(paths, extra: str) -> str:
    """The cache key of a compilation. Synthesis pragmas are left out (g++ ignores them): a build whose FIFO
    depths were sized after the library was compiled still finds it."""
    h = hashlib.sha256(extra.encode())
    for path in paths:
        h.update(str(path.name).encode())
        h.update(b"".join(line for line in path.read_bytes().splitlines(True) if not _is_hls_pragma(line)))
    return h.hexdigest()


def _is_hls_pragma(line: bytes) -> bool:
    return line.lstrip().startswith(b"#pragma HLS")


NATIVE_MAX_BITS = 60  # hls/fpgaq/types.h: the widest native C-simulation type
_DECLARED = re.compile(rb"fpgaq::u?int_t<(\d+)>")


def native_eligible(hls_dir: Path) -> bool:
    """Whether every integer type the generated sources declare, one bit wider (a negation), fits a native
    C-simulation type: then each intermediate value (a sum or product of two declared values, each held exactly
    by a declared type) fits in 63 bits and 64-bit arithmetic is exact."""
    widths = [int(m) for path in hls_dir.glob("*.[ch]*") for m in _DECLARED.findall(path.read_bytes())]
    return bool(widths) and max(widths) + 1 <= NATIVE_MAX_BITS


def macs_per_frame(hls_dir: Path) -> int:
    """The multiply-accumulates of one frame: every matrix-vector unit's vectors x groups x inputs x outputs, from
    the generated config.h."""
    total = 0
    config = hls_dir / "config.h"
    for body in _CONFIG.findall(config.read_text(errors="replace") if config.is_file() else ""):
        c = {name: int(value) for name, value in _CONSTANT.findall(body)}
        if {"nv", "g", "kg", "ocg"} <= c.keys():
            total += c["nv"] * c["g"] * c["kg"] * c["ocg"]
    return total


def compile_library(hls_dir: Path, target: Path, defines: tuple[str, ...] = (), native: bool | None = None) -> dict:
    """Compile hls_dir's C-simulation library to target (via the cache). Returns {cached, warnings, command, native}.
    native: compute with native 64-bit integers wrapped to each declared width (FPGAQ_NATIVE) instead of ap_int;
    None: wherever native_eligible."""
    include = ap_include_dir()
    native = native_eligible(hls_dir) if native is None else native
    flags = [*CXXFLAGS, *target_flags(), OPT_NATIVE if native and macs_per_frame(hls_dir) >= O3_MACS else OPT_SMALL]
    flags += [f"-D{d}" for d in (*defines, *(("FPGAQ_NATIVE",) if native else ()))]
    command = ["g++", *flags, "-I", SIM_INCLUDE, "-isystem", str(include), "-I", "lib", "-I", "."]
    inputs = sorted(p for p in hls_dir.rglob("*") if p.is_file() and p.suffix in (".h", ".cpp"))
    headers = sorted(include.rglob("*.h"))
    key = _digest(inputs + headers, " ".join(command))
    cached = cache_dir() / key / LIBRARY
    hit = cached.is_file()
    warnings = ""
    if not hit:
        if shutil.which("g++") is None:
            raise CSimError("g++ not found: C-simulation needs a C++ compiler (apt-get install g++)")
        with tempfile.TemporaryDirectory(prefix="fpgaq-csim-") as tmp:
            work = Path(tmp) / "hls"
            shutil.copytree(hls_dir, work)
            jobs = [
                subprocess.Popen(
                    [*command, "-c", src, "-o", f"{src}.o"],
                    cwd=work,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for src in SOURCES
            ]
            results = []
            for job in jobs:
                _, stderr = job.communicate()  # reads the pipes while waiting (no deadlock on long output)
                results.append((job.returncode, stderr))
            link = subprocess.run(
                ["g++", "-shared", "-pthread", *(f"{src}.o" for src in SOURCES), "-o", LIBRARY],
                cwd=work,
                capture_output=True,
                text=True,
            )
            results.append((link.returncode, link.stderr))
            for code, stderr in results:
                if code != 0:
                    lines = [ln for ln in stderr.splitlines() if "error" in ln][:5] or stderr.splitlines()[:5]
                    raise CSimError("g++ failed to compile the C-simulation: " + " | ".join(lines))
            warnings = "".join(stderr for _, stderr in results)
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp_lib = cached.parent / f".{LIBRARY}.{os.getpid()}.{threading.get_ident()}"  # one per thread
            shutil.copyfile(work / LIBRARY, tmp_lib)
            os.replace(tmp_lib, cached)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(cached, target)
    return {"cached": hit, "warnings": warnings, "command": command, "library": str(cached), "native": native}


def check_jobs(jobs: int | None) -> int:
    """The number of threads a batch is split over: `jobs`, default every core."""
    if jobs is None:
        return os.cpu_count() or 1
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise CSimError(f"--jobs must be a positive number of threads, not {jobs!r}")
    return jobs


_POOLS: dict[int, object] = {}  # jobs -> ThreadPoolExecutor, kept for the process's life
_POOLS_LOCK = threading.Lock()


def _pool(jobs: int):
    """A pool of `jobs` threads shared by every C-simulation of the process. Its threads outlive a run: the
    library's per-thread caches (each stream's array, a window's frame) are warm from the second run on, as in
    the calling thread; fresh threads would fault in every page of a frame's streams again."""
    from concurrent.futures import ThreadPoolExecutor

    with _POOLS_LOCK:
        if jobs not in _POOLS:
            _POOLS[jobs] = ThreadPoolExecutor(jobs, thread_name_prefix="fpgaq-csim")
        return _POOLS[jobs]


def in_parallel(run, frames: int, jobs: int) -> list:
    """run(lo, hi) over `jobs` runs of consecutive frames [lo, hi) covering 0..frames, one per thread (one run in
    the calling thread when jobs is 1); their results in frame order."""
    jobs = max(1, min(jobs, frames))
    bounds = [frames * j // jobs for j in range(jobs + 1)]
    if jobs == 1:
        return [run(0, frames)]
    return list(_pool(jobs).map(lambda j: run(bounds[j], bounds[j + 1]), range(jobs)))


class CSim:
    """A built project's C-simulation: float32 in, float32 out, through the compiled C++.

    Frames are independent (the library keeps no state between calls: every stream and buffer is local to one
    call, the tables are constant), so a batch is split into `jobs` runs of consecutive frames, one per thread
    (ctypes releases the GIL), and the results written in place in order. An instrumented build (its overflow log
    is one global) runs on one thread."""

    def __init__(self, build_dir: str | os.PathLike, jobs: int | None = None):
        self.jobs = check_jobs(jobs)
        build_dir = Path(build_dir)
        host_file, lib_file = build_dir / "host.json", build_dir / "csim" / LIBRARY
        if not build_dir.is_dir() or not outdir.is_complete(build_dir) or not lib_file.is_file():
            raise CSimError(f"{str(build_dir)!r} is not an fpgaq build folder (run fpgaq build first)")
        with outdir.locked(build_dir, exclusive=False):
            self._load(build_dir, host_file, lib_file)

    def _load(self, build_dir: Path, host_file: Path, lib_file: Path) -> None:
        try:
            self.host = Host(json.loads(host_file.read_bytes()))
        except (OSError, ValueError, RecursionError) as exc:
            raise CSimError(f"{str(host_file)!r} is damaged ({exc}); rebuild the folder") from None
        self.input_shape, self.output_shape = self.host.input_shape, self.host.output_shape
        digest = hashlib.sha256(lib_file.read_bytes()).hexdigest()
        loaded = cache_dir() / "loaded" / f"{digest}.so"
        if not loaded.is_file():
            loaded.parent.mkdir(parents=True, exist_ok=True)
            tmp = loaded.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")  # one per thread
            shutil.copyfile(lib_file, tmp)
            os.replace(tmp, loaded)
        self._lib = load(loaded)
        self._run = self._lib.fpgaq_run
        self._run.argtypes = [ctypes.POINTER(ctypes.c_longlong), ctypes.POINTER(ctypes.c_longlong), ctypes.c_int]
        self._run.restype = ctypes.c_int
        self._run_words = self._lib.fpgaq_run_words
        self._run_words.argtypes = [ctypes.POINTER(ctypes.c_ubyte), ctypes.POINTER(ctypes.c_ubyte), ctypes.c_int]
        self._run_words.restype = ctypes.c_int
        self._overflow = self._lib.fpgaq_overflow
        self._overflow.restype = ctypes.c_longlong
        self.instrumented = bool(self._lib.fpgaq_instrumented())
        self._check_layout(host_file)
        self._weights = tuple(self._read_weights(build_dir, t["name"]) for t in self.host.weights)
        try:
            kernels = json.loads((build_dir / "report.json").read_bytes()).get("kernels", [])
        except (OSError, ValueError, RecursionError, AttributeError):
            kernels = []
        self.kernels = [str(k) for k in kernels] if isinstance(kernels, list) else []

    @staticmethod
    def _read_weights(build_dir: Path, name: str) -> bytes:
        path = build_dir / "deploy" / "weights" / f"{name}.bin"  # a checked identifier (fpgaq.host.check_host)
        try:
            return path.read_bytes()
        except OSError:
            raise CSimError(
                f"{str(path)!r} is missing: the UltraRAM weights of this build; rebuild the folder"
            ) from None

    def _fill(self) -> None:
        try:
            load_weights(self._lib, self._weights)
        except SimulationError as exc:
            raise CSimError(str(exc)) from None

    def _check_layout(self, host_file: Path) -> None:
        """host.json must describe the streams the compiled library has (else the bridge would read or write
        outside the arrays it is given)."""
        values = (ctypes.c_longlong * 16)()
        self._lib.fpgaq_layout.restype = ctypes.c_int
        n = self._lib.fpgaq_layout(values, 16)
        names = ("num", "pack", "bits", "word")
        compiled = {"input": dict(zip(names, values[0:4])), "output": dict(zip(names, values[4:8]))}
        compiled["output"]["signed"] = bool(values[8]) if n > 8 else None
        order = self._lib.fpgaq_order
        order.restype = ctypes.POINTER(ctypes.c_int)
        axis = self.host.axis or {}
        for side, index in (("input", 0), ("output", 1)):
            given = axis.get(side, {})
            expected = dict(compiled[side], order=order(index)[: compiled[side]["num"]])
            for key, value in expected.items():
                if given.get(key) != value:
                    raise CSimError(
                        f"{str(host_file)!r} does not match the compiled C-simulation (axis.{side}.{key}); "
                        "the folder was edited: rebuild it"
                    )

    def run_codes(self, codes: np.ndarray) -> np.ndarray:
        """int64 input codes (N, *input shape) -> int64 output codes (N, *output shape)."""
        codes = np.ascontiguousarray(codes, dtype=np.int64)
        n = codes.shape[0]
        out = np.empty((n,) + self.output_shape, dtype=np.int64)
        self._fill()
        status = self._split(self._run, codes.reshape(n, -1), out.reshape(n, -1), ctypes.c_longlong)
        self._finish(status)
        return out

    def run_words(self, data: np.ndarray) -> np.ndarray:
        """Raw AXI-Stream bytes (N, input bytes per frame) -> output bytes (N, output bytes per frame), as a DMA
        would move them through the accelerator (the layout fpgaq.host.pack_words writes)."""
        in_bytes, out_bytes = self.host.frame_bytes("input"), self.host.frame_bytes("output")
        data = np.ascontiguousarray(data, dtype=np.uint8)
        if data.ndim != 2 or data.shape[1] != in_bytes:
            raise CSimError(f"input words must be (N, {in_bytes}) bytes, not {data.shape}")
        out = np.zeros((data.shape[0], out_bytes), dtype=np.uint8)
        self._fill()
        status = self._split(self._run_words, data, out, ctypes.c_ubyte)
        self._finish(status)
        return out

    def _split(self, function, data: np.ndarray, out: np.ndarray, ctype) -> int:
        """function(in, out, frames) over rows of data into rows of out (both C-contiguous, one row a frame), in
        `jobs` threads of consecutive frames; the first nonzero status, else 0."""
        pointer = ctypes.POINTER(ctype)

        def chunk(lo: int, hi: int) -> int:
            return function(data[lo:hi].ctypes.data_as(pointer), out[lo:hi].ctypes.data_as(pointer), hi - lo)

        statuses = in_parallel(chunk, len(data), 1 if self.instrumented else self.jobs)
        return next((s for s in statuses if s != 0), 0)

    def _finish(self, status: int) -> None:
        """After a run: its stream error, else the first accumulator overflow an instrumented build logged."""
        if status != 0:
            raise CSimError(f"the C-simulation reported stream error {status}")
        self._raise_on_overflow()

    def _raise_on_overflow(self) -> None:
        layer, channel, value = ctypes.c_int(), ctypes.c_int(), ctypes.c_longlong()
        count = self._overflow(ctypes.byref(layer), ctypes.byref(channel), ctypes.byref(value))
        if count:
            name = self.kernels[layer.value] if 0 <= layer.value < len(self.kernels) else f"#{layer.value}"
            where = f", channel {channel.value}" if channel.value >= 0 else ""
            raise OverflowDetected(
                f"accumulator overflow in layer {name}{where}: the exact value {value.value} does not fit its "
                f"declared width ({count} overflowing values)",
                name,
                channel.value,
            )

    def run(self, x: np.ndarray) -> np.ndarray:
        """float32 input in the model's layout (batch first) -> float32 output in the model's layout. Other
        real dtypes are accepted when every value is a float32 value (float64 zeros, uint8 pixels). Each thread
        quantizes its own frames (numpy releases the GIL), so the host's side of the work is split as well."""
        x = checked_input(self.host, x)
        n = len(x)
        out = np.empty((n,) + self.output_shape, dtype=np.int64)
        flat = out.reshape(n, -1)
        pointer = ctypes.POINTER(ctypes.c_longlong)
        self._fill()

        def chunk(lo: int, hi: int) -> int | None:
            try:
                codes = np.ascontiguousarray(self.host.quantize(x[lo:hi]), dtype=np.int64)
            except ValueError:
                return None  # reported below for the whole batch, with its indices
            return self._run(codes.ctypes.data_as(pointer), flat[lo:hi].ctypes.data_as(pointer), hi - lo)

        statuses = in_parallel(chunk, n, 1 if self.instrumented else self.jobs)
        if None in statuses:
            input_codes(self.host, x)  # raises the CSimError that names the first bad value of the batch
            raise CSimError("the input could not be quantized")  # a frame's error is the batch's: not reached
        status = next((s for s in statuses if s), 0)
        self._finish(status)
        return self.host.dequantize(out)

    def timed(self) -> TimedSim:
        """The timed dataflow simulation of the same library (fpgaq.backends.hls.timed)."""
        return TimedSim(self._lib, self.host.frame_bytes("input"), self.host.frame_bytes("output"), self._weights)

    def input_codes(self, x: np.ndarray) -> np.ndarray:
        """The int64 input codes of float input x (checked: dtype, shape, at least one sample)."""
        return input_codes(self.host, x)


def checked_input(host: Host, x: np.ndarray) -> np.ndarray:
    """x as float32 of the design's input shape with at least one sample, else a CSimError saying why."""
    x = as_float32(np.asarray(x))
    if x.ndim != len(host.input_shape) + 1 or tuple(x.shape[1:]) != host.input_shape:
        expected = "(N, " + ", ".join(map(str, host.input_shape)) + ")"
        raise CSimError(f"input has shape {tuple(x.shape)}; expected {expected}")
    if len(x) == 0:
        raise CSimError("input has no samples (shape " + str(tuple(x.shape)) + ")")
    return x


def input_codes(host: Host, x: np.ndarray) -> np.ndarray:
    """The int64 input codes of float input x for a design's host side (checked: dtype, shape, samples)."""
    x = checked_input(host, x)
    try:
        return host.quantize(x)
    except ValueError as exc:
        raise CSimError(str(exc)) from None


def as_float32(x: np.ndarray) -> np.ndarray:
    """x as float32 when that changes no value; otherwise a CSimError saying why."""
    if x.dtype == np.float32:
        return x
    if x.dtype.kind not in "biuf":
        raise CSimError(f"input must be float32, not {x.dtype}")
    y = x.astype(np.float32)
    if x.dtype.kind == "f":
        inexact = (y.astype(x.dtype) != x) & ~np.isnan(x)
    else:
        inexact = (x > 2**24) | (x < -(2**24)) if x.dtype.kind in "iu" else np.zeros(x.shape, bool)
    if inexact.any():
        first = tuple(int(i) for i in np.argwhere(inexact)[0])
        raise CSimError(
            f"input must be float32: it is {x.dtype} and {int(inexact.sum())} of its values are not float32 values "
            f"(the first, {x[first].item()!r} at index {first}); convert it with x.astype(numpy.float32) if "
            "rounding is what you want"
        )
    return y
