"""Several processes opening one new embedded Chroma at once (two `watch` processes starting
on a new data directory): each opens it, none trips over another creating its tables."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

OPEN = """
import sys, time
from pathlib import Path
from bot.settings import Settings
from retrieval.store.chroma import connect
start = float(sys.argv[2])
while time.time() < start:  # all of them at once
    time.sleep(0.001)
client = connect(Settings(_env_file=None, data_dir=Path(sys.argv[1])))
client.get_or_create_collection("articles")
"""


def test_processes_opening_a_new_chroma_at_once_all_succeed(tmp_path: Path) -> None:
    start = time.time() + 6  # past every child's imports
    children = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN, str(tmp_path / "data"), str(start)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    errors = [child.communicate(timeout=120)[1] for child in children]
    assert [child.returncode for child in children] == [0, 0, 0, 0], errors
