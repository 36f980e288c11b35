"""``argparse`` types shared by the sub-commands: a bad option is refused at parse time.

Each function takes the option's string and returns the converted value, or
raises :class:`argparse.ArgumentTypeError`; argparse then prints the usage line
and ``error: argument --batch: ...`` and exits with status 2, before any work is
done (no traceback after an hour of cutting windows).

Paths are checked for their kind only (an existing file, an existing folder, an
output that is not a folder): a file that exists but is damaged is the reader's
to refuse, naming what is wrong.
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

from seisembed.errors import InputError

__all__ = [
    "check_distinct",
    "check_outside",
    "existing_dir",
    "existing_file",
    "existing_path",
    "input_path",
    "int_range",
    "non_negative_int",
    "open_probability",
    "output_dir",
    "output_file",
    "positive_int",
]


#: largest whole number an option takes: C int, what FAISS and TensorFlow accept
MAX_INT = 2**31 - 1


def _whole(text: str, low: int, high: int) -> int:
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"expected a whole number >= {low}, not {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(
            f"must be at least {low}, not {value}" if low else f"must be 0 or more, not {value}"
        )
    if value > high:
        raise argparse.ArgumentTypeError(f"must be at most {high}, not {value}")
    return value


def int_range(low: int, high: int = MAX_INT):
    """An argparse type: a whole number in ``[low, high]``."""

    def parse(text: str) -> int:
        return _whole(text, low, high)

    parse.__name__ = f"int in [{low}, {high}]"
    return parse


def positive_int(text: str) -> int:
    """An integer in [1, 2**31 - 1] (batch sizes, neighbour counts, template counts, threads)."""
    return _whole(text, 1, MAX_INT)


def non_negative_int(text: str) -> int:
    """An integer in [0, 2**31 - 1] (seeds)."""
    return _whole(text, 0, MAX_INT)


def open_probability(text: str) -> float:
    """A probability strictly between 0 and 1 (false-alarm rates)."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, not {text!r}") from None
    if not (math.isfinite(value) and 0.0 < value < 1.0):
        raise argparse.ArgumentTypeError(f"must lie strictly between 0 and 1, not {text}")
    return value


def _file_problem(path: Path, what: str = "") -> str | None:
    """Why ``path`` is not an existing regular file (a folder, a FIFO, missing), else ``None``."""
    name = f"{what} {path}" if what else str(path)
    if path.is_dir():
        return f"{name} is a folder; expected a file"
    if path.exists() and not path.is_file():
        return f"{name} is not a regular file (a FIFO, socket or device?)"
    if not path.is_file():
        return f"{name} does not exist"
    return None


def existing_file(text: str) -> str:
    """The path of an existing regular file (not a folder, FIFO or device)."""
    problem = _file_problem(Path(text))
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return text


def existing_dir(text: str) -> str:
    """The path of an existing folder."""
    path = Path(text)
    if path.is_file():
        raise argparse.ArgumentTypeError(f"{text} is a file; expected a folder")
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"folder {text} does not exist")
    return text


def existing_path(text: str) -> str:
    """The path of an existing file or folder."""
    if not Path(text).exists():
        raise argparse.ArgumentTypeError(f"{text} does not exist")
    return text


def output_file(text: str) -> str:
    """A file to write: not an existing folder, and no file where its folder should be."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder; give a file name")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise argparse.ArgumentTypeError(f"{text}: {parent} is a file, not a folder")
            break
    return text


def output_dir(text: str) -> str:
    """A folder to write (created if missing): not an existing file, nor inside one."""
    path = Path(text)
    for candidate in (path, *path.parents):
        if candidate.exists():
            if not candidate.is_dir():
                raise argparse.ArgumentTypeError(f"{text}: {candidate} is a file, not a folder")
            break
    return text


def check_distinct(inputs, outputs) -> None:
    """Refuse (before any work) an output that is one of the inputs or another output: nothing is overwritten.

    ``inputs`` / ``outputs``: paths (``None`` skipped); one file may be several
    inputs. Paths are compared after resolving links, so ``./a.parquet`` and
    ``a.parquet`` are one file.
    """
    read = {Path(p).resolve(): p for p in inputs if p is not None}
    written: dict[Path, str] = {}
    for path in outputs:
        if path is None:
            continue
        key = Path(path).resolve()
        if key in read:
            raise InputError(f"output {path} is also an input of this command ({read[key]}): give another name")
        if key in written:
            raise InputError(f"output {path} is written twice by this command ({written[key]}): give another name")
        written[key] = str(path)


def input_path(path, what: str, kind: str = "file") -> Path:
    """``path`` as a :class:`~pathlib.Path` of an existing regular file (``kind="file"``) or folder.

    For the library functions that read a user's file: :class:`InputError` naming
    ``what`` when ``path`` is not a path at all (``None``, a number), is missing, or
    is of the wrong kind (a folder, a FIFO, a device).
    """
    if isinstance(path, bytes) or not isinstance(path, (str, os.PathLike)) or not str(path):
        raise InputError(f"{what}: expected a path, not {path!r}")
    path = Path(path)
    if kind == "dir":
        if path.exists() and not path.is_dir():
            raise InputError(f"{what} {path} is a file; expected a folder")
        if not path.is_dir():
            raise InputError(f"{what} {path} does not exist")
        return path
    problem = _file_problem(path, what)
    if problem:
        raise InputError(problem)
    return path


def check_outside(folder, outputs, what: str = "the dataset store") -> None:
    """Refuse (before any work) an output that is ``folder`` or lies inside it (e.g. inside the store it reads)."""
    if folder is None:
        return
    inside = Path(folder).resolve()
    for path in outputs:
        if path is None:
            continue
        target = Path(path).resolve()
        if target == inside or inside in target.parents:
            raise InputError(
                f"output {path} lies in {what} {folder}: writing there would change it; give another folder"
            )
