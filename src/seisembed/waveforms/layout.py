"""The files of one waveform partition folder (written by the waveform stage, read by the dataset stage)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["PartitionPaths"]


@dataclass(frozen=True)
class PartitionPaths:
    """Where one partition's outputs and progress live."""

    directory: Path

    @property
    def windows_npy(self) -> Path:
        return self.directory / "windows.npy"

    @property
    def windows_parquet(self) -> Path:
        return self.directory / "windows.parquet"

    @property
    def qc_parquet(self) -> Path:
        return self.directory / "qc.parquet"

    @property
    def progress(self) -> Path:
        return self.directory / ".progress"

    def chunk(self, index: int, suffix: str) -> Path:
        return self.progress / f"chunk-{index:05d}.{suffix}"
