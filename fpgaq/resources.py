"""Locate the data folders (boards/, templates/, hls/) in a source checkout or an installed wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """Return the folder `name` (one of boards, templates, hls, rtl).

    In a wheel the folders are installed inside the package as fpgaq/_data/<name>; in a source checkout
    (editable install or running from the repository) they sit at the repository root.
    """
    if name not in ("boards", "templates", "hls", "rtl"):
        raise ValueError(f"unknown data folder {name!r}; known: boards, templates, hls, rtl")
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"fpgaq data folder {name!r} not found next to {_PACKAGE}")
