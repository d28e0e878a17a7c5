"""Render a build's report.html in headless Chromium and save a screenshot (docs/report.png for the README).

    apt-get install chromium chromium-driver        # Debian packages
    python bench/report_screenshot.py [BUILD_DIR] [--out docs/report.png]

Without BUILD_DIR it runs `fpgaq demo` into a temporary folder first. Checks that the page rendered: the PNG
exists, has the window's size, and is not blank (several distinct colours: the charts' bars).
"""

from __future__ import annotations

import argparse
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WIDTH, HEIGHT = 1100, 1900


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("error: no chromium on PATH (Debian: apt-get install chromium chromium-driver)")


def png_colours(path: Path) -> tuple[int, int, int]:
    """(width, height, distinct RGB colours in a sample of rows) of an 8-bit RGB/RGBA non-interlaced PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour_type = header[:4]
    channels = {2: 3, 6: 4}[colour_type]
    raw = zlib.decompress(idat)
    stride = width * channels + 1
    colours, prev = set(), bytearray(width * channels)
    for y in range(height):
        line = bytearray(raw[y * stride + 1 : (y + 1) * stride])
        ftype = raw[y * stride]
        for i in range(len(line)):  # undo the PNG filter of this row
            a = line[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 255
            elif ftype == 2:
                line[i] = (line[i] + b) & 255
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        if y % 7 == 0:
            colours.update(tuple(line[i : i + 3]) for i in range(0, len(line), channels))
        prev = line
    return width, height, len(colours)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build_dir", nargs="?")
    parser.add_argument("--out", default=str(ROOT / "docs" / "report.png"))
    args = parser.parse_args()
    build_dir = args.build_dir
    if build_dir is None:
        demo = Path(tempfile.mkdtemp()) / "demo"
        subprocess.run([sys.executable, "-m", "fpgaq.cli", "--quiet", "demo", "--out", str(demo)], check=True)
        build_dir = demo / "build"
    page = Path(build_dir).resolve() / "report.html"
    out = Path(args.out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--window-size={WIDTH},{HEIGHT}",
            f"--screenshot={out}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    width, height, colours = png_colours(out)
    assert (width, height) == (WIDTH, HEIGHT), (width, height)
    assert colours >= 8, f"the page looks blank ({colours} colours)"
    print(f"{page} rendered by headless Chromium: {out} ({width}x{height}, {colours} colours sampled)")


if __name__ == "__main__":
    main()
