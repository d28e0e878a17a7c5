"""The synthesis top (top_axi.cpp): the frame count travels with the data, so TLAST marks the last output word of
every batch, whatever the sequence of batch sizes, and the data equal the golden model's."""

from __future__ import annotations

import numpy as np
import pytest

from fpgaq.ir.execute import execute
from fpgaq.ir.hostio import quantize_input
from tests.synth.axis import AxisTop


@pytest.fixture(scope="module")
def mlp(built, lowered, tmp_path_factory):
    """(AXI top of the small MLP compiled in this process, its IR graph)."""
    _, out, path = built("mlp_float_bias", False)
    return AxisTop(out, tmp_path_factory.mktemp("axis_mlp")), lowered(path)


def _codes(graph, frames: int, seed: int) -> np.ndarray:
    shape = graph.tensors[graph.input.tensor].shape
    x = np.random.default_rng(seed).normal(0, 1.5, (frames, *shape)).astype(np.float32)
    return quantize_input(graph.input, x)


def _golden(graph, codes: np.ndarray) -> np.ndarray:
    return execute(graph, codes)[graph.output.tensor].reshape(len(codes), -1)


def test_tlast_ends_every_batch_for_any_sequence_of_batch_sizes(mlp):
    """One process, one compiled top, batches of 1, 7, 256 and 1 frames one after the other (the sequence that
    misplaced TLAST with a latched batch register): each batch's output equals the golden model and carries TLAST
    on its last word and nowhere else."""
    top, graph = mlp
    for n, frames in enumerate((1, 7, 256, 1)):
        codes = _codes(graph, frames, seed=n)
        out, last = top.dma_transfer(top.host.pack_input(codes.reshape(frames, -1)))
        got = top.host.unpack_output(out.reshape(frames, -1)).reshape(frames, -1)
        np.testing.assert_array_equal(got, _golden(graph, codes))
        expected = np.zeros(frames * top.out_words, dtype=bool)
        expected[-1] = True
        np.testing.assert_array_equal(last, expected)


def test_tlast_follows_the_frames_that_ended_a_transfer(mlp):
    """Several transfers in one stream (a batch split at the DMA's length limit): TLAST leaves after exactly the
    frames whose last input word carried it; a TLAST inside a frame ends nothing."""
    top, graph = mlp
    frames = 9
    codes = _codes(graph, frames, seed=11)
    data = top.host.pack_input(codes.reshape(frames, -1))
    last = np.zeros(frames * top.in_words, dtype=np.uint8)
    ends = [1, 2, 5, 8]  # frames that end a transfer
    for f in ends:
        last[(f + 1) * top.in_words - 1] = 1
    if top.in_words > 1:
        last[6 * top.in_words] = 1  # the first word of frame 6: not a frame's end
    out, flags = top.transfer(data, last)
    got = top.host.unpack_output(out.reshape(frames, -1)).reshape(frames, -1)
    np.testing.assert_array_equal(got, _golden(graph, codes))
    expected = np.zeros(frames * top.out_words, dtype=bool)
    expected[[(f + 1) * top.out_words - 1 for f in ends]] = True
    np.testing.assert_array_equal(flags, expected)
