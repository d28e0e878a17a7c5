"""Output folders: fpgaq replaces only what it wrote, never a user's file, never through a link; one writer."""

from __future__ import annotations

import json
import os
import threading

import numpy as np
import pytest

from fpgaq.backends.hls.csim import CSim, CSimError
from fpgaq.errors import FpgaqError
from fpgaq.outdir import MANIFEST, Folder, OutputError, locked, owned, read_manifest, refuse_overwrite, rewrite
from fpgaq.pipeline import build
from tests.frontend.test_ties import tie_model

X = np.linspace(-1, 1, 127, dtype=np.float32).reshape(1, 127)


@pytest.fixture
def model(tmp_path):
    tie_model(tmp_path / "m.onnx")
    return tmp_path / "m.onnx"


def _stage(folder, files: dict, force=False):
    with rewrite(folder, force) as stage:
        for name, text in files.items():
            (stage / name).parent.mkdir(parents=True, exist_ok=True)
            (stage / name).write_text(text)


def test_rebuild_replaces_only_what_fpgaq_wrote(tmp_path):
    out = tmp_path / "out"
    _stage(out, {"a.txt": "1", "sub/b.txt": "2", "sub/deep/c.txt": "3"})
    assert read_manifest(out)["files"] == ["a.txt", "sub/b.txt", "sub/deep/c.txt"]
    (out / "sub" / "mine.txt").write_text("mine")
    (out / "notes.txt").write_text("mine")
    _stage(out, {"a.txt": "new"})
    assert (out / "a.txt").read_text() == "new" and not (out / "sub" / "b.txt").exists()
    assert not (out / "sub" / "deep").exists()  # emptied folders fpgaq made go
    assert (out / "sub" / "mine.txt").read_text() == "mine" and (out / "notes.txt").read_text() == "mine"


def test_force_writes_into_a_users_folder_but_never_replaces_their_files(tmp_path):
    out = tmp_path / "user"
    (out / "vivado").mkdir(parents=True)
    (out / "vivado" / "mine.tcl").write_text("mine")
    (out / "hls").mkdir()
    (out / "hls" / "top.cpp").write_text("my own top")
    with pytest.raises(OutputError, match=r"^output folder '.*user' exists and was not created by fpgaq; use --force"):
        _stage(out, {"report.json": "{}"})
    with pytest.raises(OutputError, match=r"^'.*user/hls/top\.cpp' was not written by fpgaq and would be replaced"):
        _stage(out, {"hls/top.cpp": "ours", "report.json": "{}"}, force=True)
    assert (out / "hls" / "top.cpp").read_text() == "my own top" and not (out / MANIFEST).exists()
    _stage(out, {"hls/params.h": "ours", "vivado/build_bitstream.tcl": "ours"}, force=True)
    _stage(out, {"report.json": "{}"})  # fpgaq's folder now: no --force needed, its own files go
    assert not (out / "hls" / "params.h").exists() and not (out / "vivado" / "build_bitstream.tcl").exists()
    assert (out / "vivado" / "mine.tcl").read_text() == "mine" and (out / "hls" / "top.cpp").read_text() == "my own top"


def test_links_are_never_followed(tmp_path):
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "precious.txt").write_text("keep")
    _stage(out, {"hls/precious.txt": "ours", "x.txt": "ours"})
    (out / "hls" / "precious.txt").unlink()
    (out / "hls").rmdir()
    os.symlink(elsewhere, out / "hls")  # a user replaced fpgaq's folder by a link
    with pytest.raises(OutputError, match=r"^'.*out/hls' is a link or a file where fpgaq writes a folder"):
        _stage(out, {"hls/precious.txt": "new"})
    _stage(out, {"x.txt": "new"})  # deleting the old hls/precious.txt must not go through the link
    assert (elsewhere / "precious.txt").read_text() == "keep"
    os.symlink(elsewhere / "precious.txt", out / "y.txt")
    with pytest.raises(OutputError, match="was not written by fpgaq"):
        _stage(out, {"y.txt": "new"})
    assert (elsewhere / "precious.txt").read_text() == "keep"


@pytest.mark.parametrize(
    "manifest",
    [
        '{"files": ["../outside.txt"]}',
        '{"files": ["/etc/passwd"]}',
        '{"trees": ["a/../../x"]}',
        '{"files": "x"}',
        "[" * 100_000,
        "not json",
    ],
)
def test_a_damaged_or_hostile_manifest_deletes_nothing(tmp_path, manifest):
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "outside.txt").write_text("keep")
    (out / MANIFEST).write_text(manifest)
    with pytest.raises(OutputError, match=r"is damaged"):
        _stage(out, {"a.txt": "1"})
    _stage(out, {"a.txt": "1"}, force=True)  # --force treats the folder as a user's: nothing of it is deleted
    assert (tmp_path / "outside.txt").read_text() == "keep"


def test_interrupted_build_keeps_the_previous_one(tmp_path):
    out = tmp_path / "out"
    _stage(out, {"a.txt": "old"})
    with pytest.raises(KeyboardInterrupt), rewrite(out) as stage:
        (stage / "a.txt").write_text("new")
        raise KeyboardInterrupt
    assert (out / "a.txt").read_text() == "old" and read_manifest(out)["files"] == ["a.txt"]
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "a.txt"]  # no staging folder left


def test_one_writer_at_a_time(tmp_path):
    out = tmp_path / "out"
    _stage(out, {"a.txt": "1"})
    with locked(out):
        with pytest.raises(OutputError, match=r"^another fpgaq command is using '.*out'; wait for it to finish"):
            _stage(out, {"a.txt": "2"})
        with pytest.raises(OutputError, match="another fpgaq command"):
            with locked(out, exclusive=False):
                pass
    with locked(out, exclusive=False), locked(out, exclusive=False):  # readers share
        pass


def test_two_concurrent_builds_never_mix(model, tmp_path):
    """Two builds of different models into one folder: one fails cleanly, the folder is one whole build."""
    from tests.frontend.test_ties import tie_model as other

    second = tmp_path / "other" / "m.onnx"
    second.parent.mkdir()
    other(second)
    out = tmp_path / "out"
    build(model, "pynq-z2", out)
    errors = []

    def run(path, clock):
        try:
            build(path, "pynq-z2", out, clock_ns=clock)
        except FpgaqError as exc:
            errors.append(str(exc))

    threads = [threading.Thread(target=run, args=(p, c)) for p, c in ((model, 5), (second, 8))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all("another fpgaq command is using" in e for e in errors)
    report = json.loads((out / "report.json").read_text())
    assert report["board"]["clock_ns"] in (5, 8) and len(errors) <= 1
    assert CSim(out).run(X).shape == (1, 127)


def test_rebuild_from_the_folders_own_model(model, tmp_path):
    out = tmp_path / "out"
    build(model, "pynq-z2", out)
    before = (out / "model.onnx").read_bytes()
    build(out / "model.onnx", "pynq-z2", out)
    assert (out / "model.onnx").read_bytes() == before
    np.testing.assert_array_equal(CSim(out).run(X), CSim(out).run(X))


def test_rebuild_removes_stale_synthesis_outputs(model, tmp_path):
    out = tmp_path / "out"
    build(model, "pynq-z2", out)
    (out / "deploy" / "fpgaq.bit").write_text("old bitstream")
    Folder(out).own(files=["deploy/fpgaq.bit"])
    (out / "synth").mkdir()  # a user's folder of the same name as fpgaq's logs
    (out / "synth" / "notes.txt").write_text("mine")
    build(model, "pynq-z2", out)
    assert not (out / "deploy" / "fpgaq.bit").exists() and (out / "synth" / "notes.txt").read_text() == "mine"


def test_an_incomplete_folder_is_refused(model, tmp_path):
    out = tmp_path / "out"
    build(model, "pynq-z2", out)
    (out / MANIFEST).unlink()
    with pytest.raises(CSimError, match=r"is not an fpgaq build folder \(run fpgaq build first\)$"):
        CSim(out)


def test_outputs_never_overwrite_inputs_or_fpgaq_files(model, tmp_path):
    out = tmp_path / "out"
    build(model, "pynq-z2", out)
    for name in ("report.json", "hls/top.cpp", "host.json"):
        with pytest.raises(OutputError, match=r"would overwrite a file of the fpgaq folder"):
            refuse_overwrite(out / name, (), "--output")
    refuse_overwrite(out / "y.npy", (), "--output")  # a new file beside them is fine
    x = tmp_path / "x.npy"
    x.write_bytes(b"")
    with pytest.raises(OutputError, match=r"^--output '.*x\.npy' is also an input; choose another file$"):
        refuse_overwrite(x, (x,), "--output")
    assert owned(out / "report.json") == out and owned(tmp_path / "x.npy") is None
