"""Check fpgaq's FINN build configuration against the real finn-plus, without running a build.

    python bench/finn_config.py --finn-python /path/to/finn-venv/bin/python

Renders DIR/finn/build.yaml (as `fpgaq synth --backend finn` writes it) for every board the FINN backend knows,
then, inside finn-plus's virtual environment, parses each with DataflowBuildConfig.construct_from (what
`finn build` does) and resolves its FPGA part; prints the part per board and fails on any difference from the
board file. The build itself needs Vivado and is not run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHECK = r"""
import json, sys
from pathlib import Path
from finn.builder.build_dataflow_config import DataflowBuildConfig
out = {}
for path in sys.argv[1:]:
    cfg = DataflowBuildConfig.construct_from(Path(path))
    out[path] = {"part": cfg._resolve_fpga_part(), "board": cfg.board, "clock": cfg.synth_clk_period_ns,
                 "target_fps": cfg.target_fps, "outputs": [o.value for o in cfg.generate_outputs],
                 "shell": cfg.shell_flow_type.value}
print(json.dumps(out))
"""


def main():
    sys.path.insert(0, str(ROOT))
    from fpgaq.boards import load_board
    from fpgaq.synth.flow import FINN_BOARDS, _render

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--finn-python", default=os.environ.get("FINN_PYTHON"), required=False)
    args = parser.parse_args()
    if not args.finn_python:
        sys.exit("error: --finn-python (or $FINN_PYTHON) is needed")
    folder = Path(tempfile.mkdtemp())
    paths = {}
    for name, finn_board in FINN_BOARDS.items():
        board = load_board(name)
        text = _render(
            "finn_build.yaml.j2",
            board=board,
            model_name="model.onnx",
            clock_ns=f"{board.clock_ns:g}",
            finn_board=finn_board,
            output_dir=str(folder / name / "output"),
            target_fps=100000,
            model=str(folder / "model.onnx"),
            bitstream=True,
        )
        paths[name] = folder / f"{name}.yaml"
        paths[name].write_text(text)
    fake = Path(tempfile.mkdtemp()) / "Vivado" / "2024.2"  # FINN's settings want a Vivado version folder
    fake.mkdir(parents=True)
    proc = subprocess.run(
        [args.finn_python, "-c", CHECK, *map(str, paths.values())],
        capture_output=True,
        text=True,
        env=dict(os.environ, XILINX_VIVADO=str(fake)),
        timeout=600,
    )
    if proc.returncode != 0:
        sys.exit("finn-plus refused the configuration: " + proc.stderr.strip().splitlines()[-1])
    parsed = json.loads(proc.stdout.strip().splitlines()[-1])
    bad = 0
    for name, path in paths.items():
        got = parsed[str(path)]
        ok = got["part"] == load_board(name).part
        bad += not ok
        print(
            f"{name:12s} FINN board {got['board']:12s} part {got['part']:22s} clock {got['clock']} ns, "
            f"{got['shell']}, outputs {', '.join(got['outputs'])}: {'ok' if ok else 'PART DIFFERS'}"
        )
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
