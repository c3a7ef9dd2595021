"""Who holds a lease or a claim: a process named by host, pid and a random part.

Leases (a source being synced) and claims (an article being stored) name their holder so
that one whose process is gone from this host can be taken over at once, and one on
another host when its time runs out.
"""

from __future__ import annotations

import os
import socket
import uuid


def new_owner() -> str:
    """A name for this process's leases and claims (pids get reused: hence the random part)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_is_dead(owner: str) -> bool:
    """True when `owner` (see `new_owner`) names a process of this host that is gone."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, owned by another user
        return False
    return False
