"""Reading a user's .npy file: every way it can be wrong is a one-line error naming the file."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from fpgaq.errors import FpgaqError

NPY_MAGIC = b"\x93NUMPY"


class ArrayFileError(FpgaqError):
    """A .npy file that cannot be read as the array asked for."""


def read_npy(path: str | os.PathLike, what: str) -> np.ndarray:
    """The numeric array in the .npy file `path` (`what` names it in messages: "--input", "--labels")."""
    path = Path(path)
    name = repr(str(path))
    if not path.exists():
        raise ArrayFileError(f"{what}: file not found: {name}")
    if not path.is_file():
        raise ArrayFileError(f"{what}: {name} is not a file")
    with open(path, "rb") as f:
        head = f.read(len(NPY_MAGIC))
        if head != NPY_MAGIC:
            raise ArrayFileError(f"{what}: {name} is not a .npy array ({_guess(path, head)})")
        f.seek(0)
        try:
            version = np.lib.format.read_magic(f)
            reader = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
            shape, fortran, dtype = reader.get(version, np.lib.format.read_array_header_2_0)(f)
        except (ValueError, EOFError, OSError, SyntaxError) as exc:
            raise ArrayFileError(f"{what}: {name} has a damaged .npy header ({exc})") from None
        if dtype.hasobject or dtype.kind not in "biuf":
            raise ArrayFileError(f"{what}: {name} holds {dtype} values; fpgaq reads numbers only")
        expected = int(np.prod(shape, dtype=object)) * dtype.itemsize
        size = os.fstat(f.fileno()).st_size - f.tell()
        if size != expected:
            raise ArrayFileError(
                f"{what}: {name} is damaged: its header says {dtype} {tuple(shape)} ({expected:,} bytes) but it "
                f"holds {size:,} bytes"
            )
    return np.load(path, allow_pickle=False)


def _guess(path: Path, head: bytes) -> str:
    if not head:
        return "it is empty"
    if path.suffix.lower() == ".onnx":
        return "it looks like an ONNX model: give the model to fpgaq build, the samples here"
    if head.startswith(b"PK") and zipfile.is_zipfile(path):
        return "it is a .npz archive: save one array with numpy.save"
    return "numpy.save writes the format fpgaq reads"
