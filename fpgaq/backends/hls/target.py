"""The CPU a C-simulation library is compiled for: g++'s -march=native where it takes it (AVX-512 turns the native
C-simulation's 16-bit dot products into one instruction per 32 multiply-accumulates), with the target it resolves
to compiled into the library as a number, so that a library is never run on a CPU it was not compiled for (a build
folder copied to another machine): loading it there is refused with the fix, instead of an illegal instruction."""

from __future__ import annotations

import ctypes
import functools
import hashlib
import subprocess
from pathlib import Path

from fpgaq.errors import FpgaqError


class TargetMismatch(FpgaqError):
    """A C-simulation library compiled for another CPU."""


@functools.cache
def native_target() -> int:
    """A 63-bit digest of everything g++ enables with -march=native on this machine (`g++ -Q --help=target`), or 0
    where g++ does not take -march=native (then libraries are compiled for the default target)."""
    try:
        query = subprocess.run(["g++", "-march=native", "-Q", "--help=target"], capture_output=True, text=True,
                               timeout=60)  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return 0
    if query.returncode != 0 or "-march=" not in query.stdout:
        return 0
    return int.from_bytes(hashlib.sha256(query.stdout.encode()).digest()[:8], "little") >> 1 or 1


def target_flags() -> list[str]:
    """g++ flags for a C-simulation library run on this machine (the cache key holds them, the digest included)."""
    target = native_target()
    return ["-march=native", f"-DFPGAQ_TARGET={target}LL"] if target else []


def load(path: Path) -> ctypes.CDLL:
    """Load a compiled C-simulation library, refusing one compiled for another CPU (its fpgaq_target, 0: the
    default target, runs anywhere)."""
    lib = ctypes.CDLL(str(path))
    compiled = getattr(lib, "fpgaq_target", None)
    if compiled is not None:
        compiled.restype = ctypes.c_longlong
        value = compiled()
        if value and value != native_target():
            raise TargetMismatch(
                f"{str(path)!r} was compiled for another CPU (-march=native on the machine that built it): rebuild "
                "the folder on this one (fpgaq build)"
            )
    return lib
