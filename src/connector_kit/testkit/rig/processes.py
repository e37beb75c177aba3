"""Ports, health waits and PIDs: how the kit starts and stops servers it owns on 127.0.0.1."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from .handle import RigError

# Health probes must never go through a proxy: the servers are on loopback only.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    """A port that is free on 127.0.0.1 right now (bind to 0, read it back)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def wait_http_ok(url: str, *, timeout: float, proc: subprocess.Popen[bytes] | None = None,
                 log: Path | None = None) -> None:
    """Poll ``url`` until it answers 200; bounded by ``timeout`` and by the process staying alive."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
            raise RigError(f"server exited with code {proc.returncode} before {url} was up.\n{tail}")
        try:
            with _OPENER.open(url, timeout=min(2.0, max(0.1, deadline - time.monotonic()))) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    raise RigError(f"{url} did not answer 200 within {timeout:.0f} s; see the rig's log.")


def stop_pid(pid: int, *, grace: float = 10.0) -> None:
    """SIGTERM the process group led by ``pid``, then SIGKILL it after ``grace`` seconds."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        except PermissionError:
            os.kill(pid, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:  # not our child: probe it instead
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    return
                done = 0
            if done == pid:
                _kill_group_quietly(pid)  # the leader is gone; take any member still alive with it
                return
            time.sleep(0.1)


def _kill_group_quietly(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

