"""Loopback servers for benchmarks, each in its own process."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def server_process(script: str, *args: str) -> Iterator[str]:
    """Run ``python -c script *args`` -- a server that prints its URL, then serves until its
    stdin closes -- and yield that URL.

    Loopback servers of benchmarks run in their own process: in the client's process they
    would compete with it for the GIL and inflate back-to-back requests.
    """
    proc = subprocess.Popen([sys.executable, "-c", script, *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        if not url.startswith("http://"):
            raise RuntimeError(f"the server process did not start (exit code {proc.poll()})")
        yield url
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


