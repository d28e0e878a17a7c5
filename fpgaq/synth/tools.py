"""Finding and running the vendor tools; a missing tool is a user error that says how to get it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from fpgaq.errors import FpgaqError

IMAGE = "fpgaq-toolchain"
IMAGE_FINN_PYTHON = "/opt/finn-venv/bin/python"  # finn-plus's virtual environment in the toolchain image
DOCKER_HINT = (
    'docker run --rm -it -v /tools/Xilinx:/tools/Xilinx:ro -e XILINX_VERSION=2024.2 -v "$PWD":/work -w /work '
    f"{IMAGE} fpgaq synth DIR  (build the image with: docker build -t {IMAGE} .)"
)


class SynthError(FpgaqError):
    """A synthesis step could not run or failed."""


def require(tool: str, purpose: str) -> str:
    """The path of `tool` on PATH, or a SynthError naming it and the docker command that provides it."""
    return require_one((tool,), purpose)[1]


def require_one(tools: tuple[str, ...], purpose: str) -> tuple[str, str]:
    """(name, path) of the first of `tools` on PATH, or a SynthError naming them and how to get them."""
    for tool in tools:
        path = shutil.which(tool)
        if path is not None:
            return tool, path
    hint = f"source the Xilinx settings64.sh, or run: {DOCKER_HINT}"
    raise SynthError(f"{' or '.join(tools)} not found on PATH ({purpose}); {hint}")


def finn_command() -> str:
    """finn-plus's command line (`finn`) beside the Python of its own virtual environment: $FINN_PYTHON, else
    the toolchain image's. FINN needs its settings initialised by that command, not a bare python."""
    candidates = [os.environ.get("FINN_PYTHON"), IMAGE_FINN_PYTHON]
    for candidate in candidates:
        if not candidate:
            continue
        finn = Path(candidate).parent / "finn"
        if finn.is_file() and os.access(finn, os.X_OK):
            return str(finn)
    docker = DOCKER_HINT.replace("fpgaq synth DIR", "fpgaq synth DIR --backend finn")
    raise SynthError(
        "finn-plus not found: set FINN_PYTHON to the python of a virtual environment with finn-plus installed "
        "(its `finn` command is used) "
        f"- it pins its own brevitas/onnx -, or run: {docker}"
    )


SCRIPT_ERROR = "fpgaq error: "  # how the generated Tcl scripts start the messages of the errors they raise


def run(command: list[str], cwd: Path, log: Path, what: str, env: dict | None = None) -> None:
    """Run a tool in cwd with its output in log; a failure raises SynthError with the error that the generated
    script raised (a line holding SCRIPT_ERROR), else the log's last lines."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as out:
        proc = subprocess.run(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env)
    if proc.returncode != 0:
        lines = log.read_text(errors="replace").strip().splitlines()
        ours = [line[line.index(SCRIPT_ERROR) + len(SCRIPT_ERROR) :] for line in lines if SCRIPT_ERROR in line]
        if ours:
            raise SynthError(f"{what} failed (exit {proc.returncode}): {ours[0].strip()}; see {log}")
        raise SynthError(f"{what} failed (exit {proc.returncode}); see {log}: " + " | ".join(lines[-5:]))
