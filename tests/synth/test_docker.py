"""The toolchain image: its entrypoint (run here with a fake tool tree) and the Dockerfile's promises."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"


def _run(env: dict, *command: str) -> subprocess.CompletedProcess:
    base = {"PATH": "/usr/bin:/bin", "HOME": "/tmp"}
    return subprocess.run(["bash", str(ENTRYPOINT), *command], env={**base, **env}, capture_output=True, text=True)


def _settings(path: Path, tool: str) -> None:
    path.parent.mkdir(parents=True)
    bin_dir = path.parent / "bin"
    bin_dir.mkdir()
    (bin_dir / tool.lower()).write_text("#!/bin/sh\necho fake\n")
    (bin_dir / tool.lower()).chmod(0o755)
    # vendor scripts read unset variables; the entrypoint must tolerate that
    path.write_text(
        f'export XILINX_{tool.upper()}="{path.parent}"\nexport PATH="{bin_dir}:$PATH"\n: "$UNSET_IN_VENDOR_SCRIPT"\n'
    )


@pytest.mark.parametrize("layout", ["tool/version", "version/tool"])
def test_entrypoint_sources_the_mounted_tools(tmp_path, layout):
    for tool in ("Vitis", "Vivado"):
        rel = f"{tool}/2024.2" if layout == "tool/version" else f"2024.2/{tool}"
        _settings(tmp_path / rel / "settings64.sh", tool)
    result = _run({"XILINX_ROOT": str(tmp_path), "XILINX_VERSION": "2024.2"}, "sh", "-c", "command -v vivado; env")
    assert result.returncode == 0, result.stderr
    assert f"XILINX_VIVADO={tmp_path}" in result.stdout and f"XILINX_VITIS={tmp_path}" in result.stdout
    assert result.stdout.splitlines()[0].endswith("/bin/vivado")
    assert result.stderr.strip() == f"fpgaq toolchain: using Vitis Vivado 2024.2 from {tmp_path}"


def test_entrypoint_without_tools_says_what_to_mount_and_still_runs(tmp_path):
    result = _run({"XILINX_ROOT": str(tmp_path)}, "echo", "still runs")
    assert result.returncode == 0 and result.stdout == "still runs\n"
    assert "no Xilinx tools found" in result.stderr
    assert "-v /tools/Xilinx:/tools/Xilinx:ro -e XILINX_VERSION=2024.2" in result.stderr
    wrong = _run({"XILINX_ROOT": str(tmp_path), "XILINX_VERSION": "2019.1"}, "true")
    assert wrong.returncode == 0 and "2019.1/settings64.sh" in wrong.stderr


def test_entrypoint_passes_the_exit_status(tmp_path):
    assert _run({"XILINX_ROOT": str(tmp_path)}, "sh", "-c", "exit 7").returncode == 7


def test_dockerfile():
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM ubuntu:(22|24)\.04$", text, re.M), "a pinned Ubuntu LTS base"
    for package in ("python3.11", "python3.11-venv", "g++", "locales", "libtinfo5", "libncurses5"):
        assert re.search(rf"\s{re.escape(package)}\s", text), package
    assert "locale-gen en_US.UTF-8" in text
    fpgaq_torch = text.index("/opt/fpgaq-venv/bin/pip install --no-cache-dir torch==2.13.0")
    assert fpgaq_torch < text.index("pip install --no-cache-dir /opt/fpgaq-src"), "torch before fpgaq"
    assert "/opt/finn-venv/bin/pip install --no-cache-dir finn-plus==1.6.1" in text
    assert "FINN_PYTHON=/opt/finn-venv/bin/python" in text
    assert 'ENTRYPOINT ["/usr/local/bin/fpgaq-entrypoint"]' in text
    assert "COPY docker/entrypoint.sh /usr/local/bin/fpgaq-entrypoint" in text
    from fpgaq.synth.tools import DOCKER_HINT, IMAGE, IMAGE_FINN_PYTHON

    assert IMAGE_FINN_PYTHON == "/opt/finn-venv/bin/python" and IMAGE == "fpgaq-toolchain"
    assert "docker build -t fpgaq-toolchain ." in text and "fpgaq-toolchain" in DOCKER_HINT
    assert subprocess.run(["bash", "-n", str(ENTRYPOINT)]).returncode == 0
