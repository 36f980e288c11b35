"""Markdown tables for the cards, tables and notes the stages write."""

from __future__ import annotations

import numpy as np

__all__ = ["markdown_table"]


def markdown_table(header: list[str], rows: list[list]) -> str:
    """A Markdown table."""
    numeric = [
        bool(rows) and all(isinstance(r[i], (int, float, np.integer, np.floating)) for r in rows)
        for i in range(len(header))
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" if n else "---" for n in numeric) + "|"]
    lines += [
        "| " + " | ".join(f"{v:,}" if isinstance(v, (int, np.integer)) else str(v) for v in row) + " |" for row in rows
    ]
    return "\n".join(lines)
