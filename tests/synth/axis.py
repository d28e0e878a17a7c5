"""The synthesis top of a build folder (hls/top_axi.cpp, Vitis-only) compiled with g++ against our stand-in
ap_axi_sdata.h (stub/) and driven as an AXI DMA drives it (axis_harness.cpp), in this process."""

from __future__ import annotations

import ctypes
import json
import subprocess
from pathlib import Path

import numpy as np

from fpgaq.backends.hls.csim import ap_include_dir
from fpgaq.host import Host

HERE = Path(__file__).parent
STUB = HERE / "stub"


class AxisTop:
    def __init__(self, build_dir: Path, work: Path):
        hls = build_dir / "hls"
        library = work / "axis_top.so"
        subprocess.run(
            ["g++", "-std=c++14", "-O1", "-shared", "-fPIC", "-isystem", str(ap_include_dir()), "-I", str(STUB),
             "-I", str(hls), "-I", str(hls / "lib"), str(hls / "top.cpp"), str(hls / "top_axi.cpp"),
             str(HERE / "axis_harness.cpp"), "-o", str(library)],
            check=True, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        self._transfer = ctypes.CDLL(str(library)).axis_transfer
        self._transfer.restype = ctypes.c_int
        self.host = Host(json.loads((build_dir / "host.json").read_text()))
        self.in_bytes, self.out_bytes = self.host.frame_bytes("input"), self.host.frame_bytes("output")
        self.in_words = self.in_bytes // (self.host.axis["input"]["word"] // 8)
        self.out_words = self.out_bytes // (self.host.axis["output"]["word"] // 8)

    def transfer(self, data: np.ndarray, last: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Input bytes of whole frames (frames * input frame bytes) with one TLAST flag per input word -> the
        output bytes (frames * output frame bytes) and one TLAST flag per output word."""
        data = np.ascontiguousarray(data, dtype=np.uint8).reshape(-1)
        frames = data.size // self.in_bytes
        assert data.size == frames * self.in_bytes and frames > 0, "whole frames only"
        last = np.ascontiguousarray(last, dtype=np.uint8)
        assert last.shape == (frames * self.in_words,)
        out = np.zeros(frames * self.out_bytes, dtype=np.uint8)
        flags = np.zeros(frames * self.out_words, dtype=np.uint8)
        pointer = ctypes.POINTER(ctypes.c_ubyte)
        args = [a.ctypes.data_as(pointer) for a in (data, last)] + [ctypes.c_int(frames)]
        status = self._transfer(*args, out.ctypes.data_as(pointer), flags.ctypes.data_as(pointer))
        assert status == 0, f"stream error {status}"
        return out, flags.astype(bool)

    def dma_transfer(self, data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One MM2S transfer (TLAST on its last word only) -> (output bytes, TLAST flags)."""
        data = np.asarray(data, dtype=np.uint8).reshape(-1)
        last = np.zeros(data.size // self.in_bytes * self.in_words, dtype=np.uint8)
        last[-1] = 1
        return self.transfer(data, last)
