"""Live rigs: real framework servers started on 127.0.0.1, in their own venvs, stopped by PID.

A rig is a folder under ``live/<framework>/`` holding a pinned ``requirements.lock``, the
server-side files of our own (fake LLMs, graphs, flow builders) and a ``rig.py`` that defines
a :class:`Rig` subclass named ``RIG``. This module holds what every rig shares: the venv,
the free port, the health wait, the state file and the stop by PID. Rig state (venv, data,
logs) lives in ``live/<framework>/work/``, which git ignores.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from ..connectors.exceptions import ConnectorKitError

# Health probes must never go through a proxy: the servers are on loopback only.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class RigError(ConnectorKitError):
    """A live rig could not be installed, started or reached."""


@dataclass
class RigHandle:
    """What a started rig tells its users: where it listens and how to authenticate."""

    framework: str
    url: str
    api_key: str | None
    pids: list[int]
    versions: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


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


class Rig:
    """One framework's live server: install, start, stop, status.

    Subclasses set ``framework`` and implement :meth:`_launch`, which starts the processes
    (through :meth:`spawn`) and returns the handle once the server is healthy.
    """

    framework: ClassVar[str] = ""
    #: How long a start may take before it is given up, in seconds.
    start_timeout: ClassVar[float] = 60.0

    def __init__(self, folder: Path) -> None:
        self.folder = folder.resolve()
        self.work = self.folder / "work"
        self.venv = self.work / "venv"
        self.logs = self.work / "logs"
        self.state_file = self.work / "state.json"
        self._spawned: list[int] = []

    # -- install -----------------------------------------------------------------------
    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def bin(self, name: str) -> Path:
        return self.venv / "bin" / name

    def installed(self) -> bool:
        stamp = self.work / "installed.lock"
        lock = self.folder / "requirements.lock"
        return stamp.exists() and lock.exists() and stamp.read_text() == lock.read_text()

    def install(self, *, quiet: bool = True) -> None:
        """Create the rig's own venv and install its pinned requirements (uv from PyPI)."""
        if self.installed():
            return
        self.work.mkdir(parents=True, exist_ok=True)
        lock = self.folder / "requirements.lock"
        steps = [
            [sys.executable, "-m", "venv", "--clear", str(self.venv)],
            [str(self.bin("pip")), "install", "-q", "uv"],
            [str(self.bin("uv")), "pip", "install", "--python", str(self.python),
             "--compile-bytecode", "-r", str(lock)],
        ]
        for argv in steps:
            done = subprocess.run(argv, capture_output=quiet, text=True, check=False)
            if done.returncode != 0:
                raise RigError(
                    f"Installing the {self.framework} rig failed at `{' '.join(argv[:3])} ...` "
                    f"(exit {done.returncode}):\n{(done.stderr or '')[-3000:]}"
                )
        (self.work / "installed.lock").write_text(lock.read_text())

    # -- processes ---------------------------------------------------------------------
    def spawn(self, name: str, argv: list[str], env: dict[str, str], cwd: Path) -> tuple[
            subprocess.Popen[bytes], Path]:
        """Start one server process in its own session, its output in ``logs/<name>.log``."""
        self.logs.mkdir(parents=True, exist_ok=True)
        log = self.logs / f"{name}.log"
        with log.open("wb") as fh:
            proc = subprocess.Popen(
                argv, cwd=cwd, env=env, stdout=fh, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )
        self._spawned.append(proc.pid)
        return proc, log

    @staticmethod
    def base_env() -> dict[str, str]:
        """An environment with proxies and telemetry off, so the server stays on loopback."""
        env = {k: v for k, v in os.environ.items()
               if not k.lower().endswith("_proxy") and not k.startswith(("OPENAI_", "LANGSMITH_",
                                                                          "LANGCHAIN_"))}
        env.update({"NO_PROXY": "127.0.0.1,localhost", "PYTHONUNBUFFERED": "1",
                    "DO_NOT_TRACK": "true", "OTEL_SDK_DISABLED": "true"})
        return env

    def _launch(self) -> RigHandle:
        raise NotImplementedError

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> RigHandle:
        """Install if needed, start from clean state, wait for health, remember the PIDs."""
        running = self.status()
        if running is not None:
            return running
        self.install()
        try:
            handle = self._launch()
        except BaseException:
            self._kill_recorded()
            raise
        self.state_file.write_text(json.dumps(handle.__dict__, indent=2))
        self.state_file.chmod(0o600)  # it holds the rig's API key
        self._spawned.clear()
        return handle

    def _kill_recorded(self) -> None:
        for pid in self._spawned:
            stop_pid(pid)
        self._spawned.clear()

    def status(self) -> RigHandle | None:
        """The running rig's handle, or None when it is not running."""
        if not self.state_file.exists():
            return None
        handle = RigHandle(**json.loads(self.state_file.read_text()))
        if all(pid_alive(pid) for pid in handle.pids):
            return handle
        self.stop()
        return None

    def stop(self) -> None:
        """Stop every process the rig started, by PID, and forget them."""
        if self.state_file.exists():
            handle = RigHandle(**json.loads(self.state_file.read_text()))
            for pid in handle.pids:
                stop_pid(pid)
            self.state_file.unlink()


def load_rig(framework: str, live_dir: Path | None = None) -> Rig:
    """Load ``live/<framework>/rig.py`` and return its ``RIG`` instance."""
    live_dir = (live_dir or _default_live_dir()).resolve()
    path = live_dir / framework / "rig.py"
    if not path.exists():
        raise RigError(
            f"No rig for '{framework}' at {path}. Rigs live in the connector-kit repository's "
            "live/ folder; pass --live-dir to point at it."
        )
    spec = importlib.util.spec_from_file_location(f"_connector_kit_rig_{framework}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rig = module.RIG
    if not isinstance(rig, Rig):
        raise RigError(f"{path} must define RIG, an instance of connector_kit.testkit.rig.Rig")
    return rig


def _default_live_dir() -> Path:
    here = Path.cwd()
    for folder in (here, *here.parents):
        if (folder / "live").is_dir():
            return folder / "live"
    return Path(__file__).resolve().parents[3] / "live"
