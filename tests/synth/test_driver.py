"""The PYNQ driver (pynq mocked only at the overlay/DMA boundary) and the synthesis top's TLAST logic."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from fpgaq.backends.hls.csim import CSim, ap_include_dir
from fpgaq.synth.flow import write_driver

MODELS = ["mlp_float_bias", "cnn", "conv1d_bipolar", "mlp_rounding_modes", "token_mlp_pow2"]


class _Buffer(np.ndarray):
    freed = 0

    def freebuffer(self):
        _Buffer.freed += 1


def _fake_pynq(sim: CSim, in_frame: int, out_frame: int, log: list) -> types.ModuleType:
    """pynq with Overlay/allocate/DMA whose transfers go through the generated C++ (fpgaq_run_words)."""

    class Channel:
        def __init__(self, name):
            self.name, self.buffer = name, None

        def transfer(self, buffer):
            log.append((self.name, "transfer", buffer.shape))
            self.buffer = buffer

        def wait(self):
            if self.name == "recv":
                sent = np.asarray(dma.sendchannel.buffer)
                frames = sent.size // in_frame
                assert self.buffer.size == frames * out_frame, "receive buffer of the wrong size"
                self.buffer[:] = sim.run_words(sent.reshape(frames, in_frame)).reshape(-1)

    class DMA:
        sendchannel, recvchannel = Channel("send"), Channel("recv")

    dma = DMA()

    class Accel:
        def write(self, offset, value):
            log.append(("write", offset, value))

    class Overlay:
        def __init__(self, bitfile):
            log.append(("overlay", bitfile))
            self.dma, self.accel = dma, Accel()

    module = types.ModuleType("pynq")
    module.Overlay = Overlay
    module.allocate = lambda shape, dtype: np.zeros(shape, dtype=dtype).view(_Buffer)
    return module


@pytest.mark.parametrize("name", MODELS)
def test_driver_equals_the_csimulation(built, exported, tmp_path, monkeypatch, name):
    _, out, _ = built(name, False)
    shape = exported(name, False)[1]
    write_driver_to = tmp_path / "b"
    shutil.copytree(out, write_driver_to)
    write_driver(write_driver_to)
    sim = CSim(write_driver_to)
    in_frame, out_frame = sim.host.frame_bytes("input"), sim.host.frame_bytes("output")
    log: list = []
    monkeypatch.setitem(sys.modules, "pynq", _fake_pynq(sim, in_frame, out_frame, log))
    monkeypatch.syspath_prepend(str(write_driver_to / "deploy"))
    for module in ("driver", "fpgaq_host"):
        sys.modules.pop(module, None)
    driver = importlib.import_module("driver")
    accel = driver.FpgaqAccelerator(bitfile="/boot/fpgaq.bit", batch=16)
    x = np.random.default_rng(7).normal(0, 1.5, (37, *shape)).astype(np.float32)
    np.testing.assert_array_equal(accel.run(x), sim.run(x))
    writes = [entry for entry in log if entry[0] == "write"]
    assert writes == [("write", 0x10, 16), ("write", 0x00, 0x81), ("write", 0x10, 5)]
    assert log[0] == ("overlay", "/boot/fpgaq.bit")
    assert [e[2] for e in log if e[:2] == ("send", "transfer")] == [(16 * in_frame,), (16 * in_frame,), (5 * in_frame,)]
    with pytest.raises(ValueError, match="input must be float32"):
        accel.run(x.astype(np.float64))
    for module in ("driver", "fpgaq_host"):
        sys.modules.pop(module, None)


TLAST_MAIN = r"""
#include <cstdio>
#include <vector>
#include <ap_axi_sdata.h>
#include "top.h"
void fpgaq_accel(hls::stream<ap_axiu<FPGAQ_IN_WORD, 0, 0, 0> >& src,
                 hls::stream<ap_axiu<FPGAQ_OUT_WORD, 0, 0, 0> >& dst, unsigned batch);
int main(int argc, char** argv) {  // in.bin frames of packed input words -> out.bin bytes, last.txt flags
    const unsigned batch = (unsigned)atoi(argv[1]);
    const int in_bytes = FPGAQ_IN_WORD / 8, out_bytes = FPGAQ_OUT_WORD / 8;
    const int in_words = FPGAQ_IN_NUM / FPGAQ_IN_PACK, out_words = FPGAQ_OUT_NUM / FPGAQ_OUT_PACK;
    FILE* fin = fopen("in.bin", "rb");
    FILE* fout = fopen("out.bin", "wb");
    FILE* flast = fopen("last.txt", "w");
    std::vector<unsigned char> frame(in_words * in_bytes);
    while (fread(frame.data(), 1, frame.size(), fin) == frame.size()) {
        hls::stream<ap_axiu<FPGAQ_IN_WORD, 0, 0, 0> > src;
        hls::stream<ap_axiu<FPGAQ_OUT_WORD, 0, 0, 0> > dst;
        for (int w = 0; w < in_words; w++) {
            ap_axiu<FPGAQ_IN_WORD, 0, 0, 0> word;
            for (int b = 0; b < in_bytes; b++) word.data.range(8 * b + 7, 8 * b) = frame[w * in_bytes + b];
            word.last = w == in_words - 1;
            src.write(word);
        }
        fpgaq_accel(src, dst, batch);
        for (int w = 0; w < out_words; w++) {
            ap_axiu<FPGAQ_OUT_WORD, 0, 0, 0> word = dst.read();
            for (int b = 0; b < out_bytes; b++) fputc((int)word.data.range(8 * b + 7, 8 * b), fout);
            fprintf(flast, "%d", (int)word.last);
        }
        if (!dst.empty() || !src.empty()) return 3;
    }
    fclose(fin); fclose(fout); fclose(flast);
    return 0;
}
"""


def test_synthesis_top_sets_tlast_per_batch(built, exported, tmp_path):
    """top_axi.cpp (Vitis-only: compiled here against a stand-in ap_axi_sdata.h): the data equal the
    C-simulation's, and TLAST is set on the last word of every `batch` frames only."""
    _, out, _ = built("cnn", False)
    shape = exported("cnn", False)[1]
    hls = out / "hls"
    (tmp_path / "main.cpp").write_text(TLAST_MAIN)
    exe = tmp_path / "tlast"
    stub = Path(__file__).parent / "stub"
    subprocess.run(
        ["g++", "-std=c++14", "-O1", "-isystem", str(ap_include_dir()), "-I", str(stub), "-I", str(hls),
         "-I", str(hls / "lib"), str(hls / "top.cpp"), str(hls / "top_axi.cpp"), str(tmp_path / "main.cpp"),
         "-o", str(exe)],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    sim = CSim(out)
    x = np.random.default_rng(3).normal(0, 1, (7, *shape)).astype(np.float32)
    packed = sim.host.pack_input(sim.host.quantize(x).reshape(7, -1))
    (tmp_path / "in.bin").write_bytes(packed.tobytes())
    subprocess.run([str(exe), "3"], cwd=tmp_path, check=True, timeout=120)
    got = np.frombuffer((tmp_path / "out.bin").read_bytes(), dtype=np.uint8).reshape(7, -1)
    np.testing.assert_array_equal(got, sim.run_words(packed))
    flags = (tmp_path / "last.txt").read_text()
    words = len(flags) // 7
    expected = "".join(
        "0" * (words - 1) + ("1" if (f + 1) % 3 == 0 else "0") for f in range(7)
    )  # frames 3 and 6 end a batch; frame 7 is the start of the next
    assert flags == expected
    np.testing.assert_array_equal(sim.host.dequantize(sim.host.unpack_output(got)), sim.run(x))
