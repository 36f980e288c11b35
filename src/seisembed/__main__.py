"""``python -m seisembed``: the same as the ``seisembed`` command."""

import sys

from seisembed.cli import main

sys.exit(main())
