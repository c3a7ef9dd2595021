"""Where PostgreSQL's server programs (initdb, postgres) are on this machine.

Debian installs them outside PATH, one directory per major version
(/usr/lib/postgresql/N/bin): the newest wins; else a directory on PATH holding both. Only the
standard library, so `scripts/ensure-postgres` asks the same question with the system
python3, before .venv exists: one rule for the tests and the install step.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

DEBIAN_ROOT = Path("/usr/lib/postgresql")
PROGRAMS = ("initdb", "postgres")


def _has_programs(directory: Path) -> bool:
    return all(os.access(directory / name, os.X_OK) for name in PROGRAMS)


def _version(name: str) -> tuple[int, ...] | None:
    """Debian's directory names: "15", "9.6". Anything else is not a version."""
    parts = name.split(".")
    return tuple(int(p) for p in parts) if all(p.isdigit() for p in parts) else None


def find_postgres_bin(debian_root: Path = DEBIAN_ROOT, path: str | None = None) -> Path | None:
    """The directory of initdb and postgres, or None. `path` stands for $PATH."""
    versions: list[tuple[tuple[int, ...], Path]] = []
    if debian_root.is_dir():
        for child in debian_root.iterdir():
            version = _version(child.name)
            if version is not None and _has_programs(child / "bin"):
                versions.append((version, child / "bin"))
    if versions:
        return max(versions)[1]
    initdb = shutil.which("initdb", path=os.environ.get("PATH", "") if path is None else path)
    if initdb is None:
        return None
    # A symlink (/usr/local/bin/initdb -> /usr/lib/postgresql/15/bin/initdb) points at the
    # directory that also holds the matching postgres.
    directory = Path(initdb).resolve().parent
    return directory if _has_programs(directory) else None


def main() -> int:
    found = find_postgres_bin()
    if found is None:
        print(
            f"no PostgreSQL server programs ({', '.join(PROGRAMS)}) in {DEBIAN_ROOT}/*/bin "
            "or on PATH",
            file=sys.stderr,
        )
        return 1
    print(found)
    return 0


if __name__ == "__main__":
    sys.exit(main())
