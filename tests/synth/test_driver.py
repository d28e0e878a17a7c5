"""The PYNQ driver that `fpgaq build` writes into DIR/deploy, with pynq mocked at the overlay/DMA boundary: the DMA
moves the driver's buffers through the synthesis top (top_axi.cpp compiled here, tests/synth/axis.py) or the
C-simulation, and its receive channel ends a transfer on TLAST, as the AXI DMA's S2MM does."""

from __future__ import annotations

import importlib
import sys
import types

import numpy as np
import pytest

from fpgaq.backends.hls.csim import CSim
from tests.synth.axis import AxisTop

MODELS = ["mlp_float_bias", "cnn", "conv1d_bipolar", "mlp_rounding_modes", "token_mlp_pow2"]


class _Buffer(np.ndarray):
    def freebuffer(self):
        self.log.append(("free", self.nbytes))


def _fake_pynq(accelerate, out_word_bytes: int, length_bits: int, log: list) -> types.ModuleType:
    """pynq with Overlay/allocate/DMA. accelerate(input bytes of one MM2S transfer, TLAST on its last word) ->
    (output bytes, TLAST per output word); the output words queue up in the stream, and a receive takes them up to
    and including the first TLAST, failing as the DMA does when its buffer fills first."""
    limit = (1 << length_bits) - 1
    stream: list = []  # (bytes, last) per output word not yet received

    class Channel:
        def __init__(self, name):
            self.name, self.buffer, self.transferred = name, None, 0

        def transfer(self, buffer):
            if buffer.nbytes > limit:  # as pynq's _SDMAChannel
                raise ValueError(f"Transfer size is {buffer.nbytes} bytes, which exceeds the maximum {limit}")
            log.append((self.name, "transfer", buffer.nbytes))
            self.buffer = buffer

        def wait(self):
            if self.name == "send":
                data, flags = accelerate(np.asarray(self.buffer))
                words = data.reshape(-1, out_word_bytes)
                stream.extend(zip(words, flags, strict=True))
                return
            received = []
            while not received or not received[-1][1]:
                if not stream:
                    raise RuntimeError("the S2MM transfer never completes: no TLAST came")
                received.append(stream.pop(0))
            data = np.concatenate([word for word, _ in received])
            if data.size > self.buffer.size:
                raise RuntimeError("DMA Internal Error: the stream's packet is longer than the receive buffer")
            self.buffer[: data.size] = data
            self.transferred = data.size

    class DMA:
        description = {"parameters": {"c_sg_length_width": str(length_bits), "c_include_sg": "0"}}
        sendchannel, recvchannel = Channel("send"), Channel("recv")

    class Accel:
        def write(self, offset, value):
            log.append(("write", offset, value))

    class Overlay:
        def __init__(self, bitfile):
            log.append(("overlay", bitfile))
            self.dma, self.accel = DMA(), Accel()

    module = types.ModuleType("pynq")
    module.Overlay = Overlay

    def allocate(shape, dtype):
        buffer = np.zeros(shape, dtype=dtype).view(_Buffer)
        buffer.log = log
        log.append(("allocate", buffer.nbytes))
        return buffer

    module.allocate = allocate
    module.stream = stream
    return module


def _driver(build_dir, monkeypatch, pynq):
    monkeypatch.setitem(sys.modules, "pynq", pynq)
    monkeypatch.syspath_prepend(str(build_dir / "deploy"))
    for module in ("driver", "fpgaq_host"):
        monkeypatch.delitem(sys.modules, module, raising=False)
    return importlib.import_module("driver")


@pytest.fixture(scope="module")
def mlp_top(built, tmp_path_factory):
    _, out, _ = built("mlp_float_bias", False)
    return out, AxisTop(out, tmp_path_factory.mktemp("axis_driver"))


def test_any_sequence_of_batch_sizes_through_the_synthesis_top(mlp_top, exported, monkeypatch):
    """Calls of 37, 1, 256 and 1 frames on one accelerator: each is one DMA transfer each way (the DMA's 2^26 - 1
    bytes hold them), TLAST ends each receive exactly, the control register is written once (ap_start |
    auto-restart) and there is no other register; the results equal the C-simulation's."""
    out, top = mlp_top
    shape = exported("mlp_float_bias", False)[1]
    log: list = []
    pynq = _fake_pynq(top.dma_transfer, top.host.axis["output"]["word"] // 8, 26, log)
    driver = _driver(out, monkeypatch, pynq)
    accel = driver.FpgaqAccelerator(bitfile="/boot/fpgaq.bit")
    sim = CSim(out)
    rng = np.random.default_rng(7)
    sizes = (37, 1, 256, 1)
    for n in sizes:
        x = rng.normal(0, 1.5, (n, *shape)).astype(np.float32)
        np.testing.assert_array_equal(accel.run(x), sim.run(x))
    assert log[0] == ("overlay", "/boot/fpgaq.bit")
    assert [e for e in log if e[0] == "write"] == [("write", 0x00, 0x81)]
    sends = [e[2] for e in log if e[:2] == ("send", "transfer")]
    receives = [e[2] for e in log if e[:2] == ("recv", "transfer")]
    assert sends == [n * top.in_bytes for n in sizes] and receives == [n * top.out_bytes for n in sizes]
    assert pynq.stream == []  # nothing left behind for the next call
    allocated = sorted(e[1] for e in log if e[0] == "allocate")
    assert allocated == sorted(e[1] for e in log if e[0] == "free") and len(allocated) == 2 * len(sizes)
    assert accel.run_codes(np.zeros((0, *shape), dtype=np.int64)).shape == (0, *sim.output_shape)
    with pytest.raises(ValueError, match="input must be float32"):
        accel.run(np.zeros((2, *shape)))


def test_a_batch_beyond_the_dma_length_is_split_into_whole_frame_transfers(mlp_top, exported, monkeypatch):
    """A DMA built with an 8-bit length register (255 bytes): the driver reads c_sg_length_width from the .hwh's
    description and sends each batch as the fewest transfers of whole frames, each ending with its own TLAST."""
    out, top = mlp_top
    shape = exported("mlp_float_bias", False)[1]
    log: list = []
    pynq = _fake_pynq(top.dma_transfer, top.host.axis["output"]["word"] // 8, 8, log)
    accel = _driver(out, monkeypatch, pynq).FpgaqAccelerator()
    x = np.random.default_rng(9).normal(0, 1.5, (37, *shape)).astype(np.float32)
    np.testing.assert_array_equal(accel.run(x), CSim(out).run(x))
    sends = [e[2] for e in log if e[:2] == ("send", "transfer")]
    fit = 255 // max(top.in_bytes, top.out_bytes)  # whole frames in one transfer, both ways
    assert 1 < len(sends) and sum(sends) == 37 * top.in_bytes and all(s % top.in_bytes == 0 for s in sends)
    assert all(s == fit * top.in_bytes for s in sends[:-1]) and 0 < sends[-1] <= fit * top.in_bytes
    assert pynq.stream == []


def test_a_frame_beyond_the_dma_length_is_refused(mlp_top, monkeypatch):
    out, top = mlp_top
    bits = max(top.in_bytes, top.out_bytes).bit_length() - 1  # 2^bits - 1 bytes: less than one frame
    pynq = _fake_pynq(top.dma_transfer, top.host.axis["output"]["word"] // 8, bits, [])
    driver = _driver(out, monkeypatch, pynq)
    with pytest.raises(ValueError, match=r"one frame \(\d+ bytes in, \d+ out\) exceeds the DMA's transfer limit"):
        driver.FpgaqAccelerator()


@pytest.mark.parametrize("name", MODELS)
def test_driver_equals_the_csimulation(built, exported, monkeypatch, name):
    """The driver's packing and unpacking for every input and output layout, the DMA running the C-simulation's
    bridge on the same bytes."""
    _, out, _ = built(name, False)
    shape = exported(name, False)[1]
    sim = CSim(out)
    in_frame, out_word = sim.host.frame_bytes("input"), sim.host.axis["output"]["word"] // 8

    def accelerate(data):
        result = sim.run_words(data.reshape(-1, in_frame)).reshape(-1)
        last = np.zeros(result.size // out_word, dtype=bool)
        last[-1] = True
        return result, last

    log: list = []
    accel = _driver(out, monkeypatch, _fake_pynq(accelerate, out_word, 26, log)).FpgaqAccelerator()
    x = np.random.default_rng(7).normal(0, 1.5, (37, *shape)).astype(np.float32)
    np.testing.assert_array_equal(accel.run(x), sim.run(x))
    assert [e[2] for e in log if e[:2] == ("send", "transfer")] == [37 * in_frame]
