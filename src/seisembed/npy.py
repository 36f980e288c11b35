"""Reading ``.npy`` headers without loading the data (for streaming block copies)."""

from __future__ import annotations

from typing import BinaryIO

import numpy as np


def read_npy_header(handle: BinaryIO) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """Shape, Fortran order, dtype and data offset (bytes) of the ``.npy`` file open in ``handle``.

    Reads from the start of ``handle``; raises ``ValueError`` for a file that is not ``.npy``.
    """
    handle.seek(0)
    major, _minor = np.lib.format.read_magic(handle)
    if major == 1:
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(handle)
    else:
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(handle)
    return shape, fortran, dtype, handle.tell()
