"""Reports of a lowered model: per-layer rows (for report.json and the CLI tables)."""
