#!/usr/bin/env python3
"""Container health probe: exit 0 when a URL answers 2xx within 3 seconds.

The image has no curl; this runs on its Python. The argument is a URL, or a path on the
monitoring listener (http://127.0.0.1:$ARTICLEBOT_MONITOR_PORT), e.g. /healthz or /readyz.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def probe_url(target: str) -> str:
    """The URL to probe: `target` itself, or that path on the local monitoring listener."""
    if target.startswith(("http://", "https://")):
        return target
    port = os.environ.get("ARTICLEBOT_MONITOR_PORT") or "9464"
    return f"http://127.0.0.1:{port}{target}"


def main(argv: list[str]) -> int:
    """Probe argv[1] (default /healthz); one line on stderr when it fails."""
    url = probe_url(argv[1] if len(argv) > 1 else "/healthz")
    try:
        with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310 (local probe)
            return 0 if 200 <= response.status < 300 else 1
    except urllib.error.HTTPError as error:
        print(f"probe: {url}: HTTP {error.code}", file=sys.stderr)
    except (OSError, ValueError) as error:
        print(f"probe: {url}: {error}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
