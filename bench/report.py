"""Write one section of docs/benchmarks.md, replacing an earlier version of the same section."""

from __future__ import annotations

from pathlib import Path


def write_section(out: Path, marker: str, section: str) -> None:
    text = out.read_text() if out.exists() else "# Benchmarks\n\n"
    if marker in text:
        head, _, rest = text.partition(marker)
        tail = rest.split("\n## ", 1)
        text = head + section + ("\n## " + tail[1] if len(tail) > 1 else "")
    else:
        text = text.rstrip() + "\n\n" + section
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
