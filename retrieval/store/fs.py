"""What the file system allows this process: asked of the kernel, not guessed from modes."""

from __future__ import annotations

import os
from pathlib import Path


def is_writable(directory: Path) -> bool:
    """Whether this process may create files in `directory`.

    `os.access` asks the kernel, which knows a read-only mount and the process's rights:
    root passes a directory without write bits unless it dropped CAP_DAC_OVERRIDE, as it
    should, since it can write there. A directory not made yet counts as writable.
    """
    return not directory.is_dir() or os.access(directory, os.W_OK | os.X_OK)
