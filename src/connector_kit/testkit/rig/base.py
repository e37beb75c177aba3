"""Live rigs: real framework servers started on 127.0.0.1, in their own venvs, stopped by PID.

A rig is a folder under ``live/<framework>/`` holding a pinned ``requirements.lock``, the
server-side files of our own (fake LLMs, graphs, flow builders) and a ``rig.py`` that defines
a :class:`Rig` subclass named ``RIG``. This module holds what every rig shares: the venv,
the free port, the health wait, the state file and the stop by PID. Rig state (venv, data,
logs) lives in ``live/<framework>/work/``, which git ignores.

Server versions: ``rig.for_version("0.15.0")`` is the same rig on another release of the
server. Each version gets its own folder ``work/versions/<version>/`` (venv, state, logs),
so versions never share a venv and can run side by side. Its pins come from
``live/<framework>/locks/<version>.lock`` when committed, else they are resolved once with
``uv pip compile`` from the rig's top-level requirements for that version.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

from .handle import RigError, RigHandle
from .processes import pid_alive, stop_pid


class Rig:
    """One framework's live server: install, start, stop, status.

    Subclasses set ``framework`` and implement :meth:`_launch`, which starts the processes
    (through :meth:`spawn`) and returns the handle once the server is healthy. For server
    versions they set ``version_package`` (whose version names a release) and may override
    :meth:`requirements_for` and :meth:`exclude_newer_for`.

    Args:
        folder: the rig folder (``live/<framework>``).
        server_version: a server release other than the committed lock's (None: the lock's).
        work: where state, logs and data go (default: the version's own folder); the venv
            stays the version's, so a variant started elsewhere reuses the install.
        env: extra environment for the server processes (e.g. a fake's drift switch).
    """

    framework: ClassVar[str] = ""
    #: How long a start may take before it is given up, in seconds.
    start_timeout: ClassVar[float] = 60.0
    #: The distribution whose version names a server release (``langgraph-api``, ``lfx``).
    version_package: ClassVar[str] = ""

    def __init__(self, folder: Path, *, server_version: str | None = None,
                 work: Path | None = None, env: dict[str, str] | None = None) -> None:
        self.folder = folder.resolve()
        default = self.default_version()
        self.server_version = None if server_version in (None, "", default) else server_version
        if self.server_version is not None:
            _check_version(self.server_version)
            self.home = self.folder / "work" / "versions" / self.server_version
        else:
            self.home = self.folder / "work"
        self.venv = self.home / "venv"
        self.work = (work or self.home).resolve()
        self.logs = self.work / "logs"
        self.state_file = self.work / "state.json"
        self.env = dict(env or {})
        self._spawned: list[int] = []

    def for_version(self, version: str | None) -> Rig:
        """This rig on server release ``version`` (its own venv and state)."""
        return type(self)(self.folder, server_version=version)

    def variant(self, work: Path, env: dict[str, str]) -> Rig:
        """This rig and version, with its state in ``work`` and ``env`` for the servers."""
        return type(self)(self.folder, server_version=self.server_version, work=work, env=env)

    # -- versions ----------------------------------------------------------------------
    @property
    def committed_lock(self) -> Path:
        return self.folder / "requirements.lock"

    def default_version(self) -> str | None:
        """The release the committed ``requirements.lock`` pins (None when it names none)."""
        if not self.version_package or not self.committed_lock.exists():
            return None
        return _pinned(self.committed_lock.read_text(), self.version_package)

    @property
    def version(self) -> str | None:
        """The release this rig runs: the requested one, else the committed lock's."""
        return self.server_version or self.default_version()

    def requirements_for(self, version: str) -> list[str]:
        """Top-level requirements of release ``version`` (resolved into a lock by uv)."""
        raise RigError(f"The {self.framework} rig does not support other server versions; "
                       f"install the committed lock with `connector-kit rig install "
                       f"{self.framework}`.")

    def exclude_newer_for(self, version: str) -> str | None:
        """An ``--exclude-newer`` date for resolving ``version`` (for old releases)."""
        return None

    @property
    def lock(self) -> Path:
        """The lock this rig installs: committed (default or per version) or resolved."""
        if self.server_version is None:
            return self.committed_lock
        committed = self.folder / "locks" / f"{self.server_version}.lock"
        return committed if committed.exists() else self.home / "requirements.lock"

    # -- install -----------------------------------------------------------------------
    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def bin(self, name: str) -> Path:
        return self.venv / "bin" / name

    def installed(self) -> bool:
        stamp = self.home / "installed.lock"
        return (not self._needs_resolving() and stamp.exists() and self.lock.exists()
                and stamp.read_text() == self.lock.read_text())

    def _wanted_requirements(self) -> str:
        assert self.server_version is not None
        return "\n".join(self.requirements_for(self.server_version)) + "\n"

    def _needs_resolving(self) -> bool:
        """A resolved (not committed) lock that is missing or was made from other requirements."""
        if self.server_version is None or self.lock.parent != self.home:
            return False
        top = self.home / "requirements.in"
        return not (self.lock.exists() and top.exists()
                    and top.read_text() == self._wanted_requirements())

    def install(self, *, quiet: bool = True) -> None:
        """Create the rig's own venv and install its pinned requirements (uv from PyPI).

        One install at a time per venv: pytest-xdist workers start the session rig and its
        variants (the drift-switch tests) together, and two installs into one venv (each
        ``venv --clear``) would break it. Whoever waited finds it installed and returns.
        """
        if self.installed():
            return
        self.home.mkdir(parents=True, exist_ok=True)
        from filelock import FileLock  # portable (no fcntl on Windows); the file is never unlinked

        with FileLock(str(self.home / "install.flock")):
            if not self.installed():
                self._install(quiet)

    def _install(self, quiet: bool) -> None:
        if self.server_version is None and not self.committed_lock.exists():
            raise RigError(f"{self.committed_lock} is missing: restore it from git "
                           "(`git checkout -- live/`) before installing the rig.")
        self._run([sys.executable, "-m", "venv", "--clear", str(self.venv)], quiet, "venv")
        self._run([str(self.bin("pip")), "install", "-q", "uv"], quiet, "pip install uv")
        if self._needs_resolving():
            self._resolve_lock(quiet)
        self._run([str(self.bin("uv")), "pip", "install", "--python", str(self.python),
                   "--compile-bytecode", "-r", str(self.lock)], quiet, "uv pip install")
        (self.home / "installed.lock").write_text(self.lock.read_text())

    def _resolve_lock(self, quiet: bool) -> None:
        assert self.server_version is not None
        version = self.server_version
        top = self.home / "requirements.in"
        top.write_text(self._wanted_requirements())
        # Seeded with the committed pins, which uv prefers where the release allows them: the
        # versions then differ in what the release needs, not in whatever is newest today.
        self.lock.write_text(self.committed_lock.read_text())
        argv = [str(self.bin("uv")), "pip", "compile", "--python-version", "3.11",
                "--python-platform", "x86_64-unknown-linux-gnu", "--no-annotate", str(top),
                "-o", str(self.lock)]
        if (date := self.exclude_newer_for(version)) is not None:
            argv += ["--exclude-newer", date]
        try:
            self._run(argv, quiet, f"resolving {self.framework} {version}",
                      hint=f"Is {self.version_package} {version} a published release? Pin "
                           f"its requirements in {self.folder / 'locks' / (version + '.lock')} "
                           "to skip resolving.")
        except RigError:
            self.lock.unlink(missing_ok=True)  # never leave the seed behind as if resolved
            raise

    def _run(self, argv: list[str], quiet: bool, step: str, hint: str = "") -> None:
        try:
            done = subprocess.run(argv, capture_output=quiet, text=True, check=False,
                                  timeout=1800)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise RigError(f"Installing the {self.framework} rig failed at {step}: {exc}. "
                           f"Delete {self.home} and run `connector-kit rig install "
                           f"{self.framework}` again.") from None
        if done.returncode != 0:
            raise RigError(
                f"Installing the {self.framework} rig failed at {step} (exit "
                f"{done.returncode}). {hint}\n{(done.stderr or '')[-3000:]}".rstrip())

    def versions_installed(self, names: tuple[str, ...]) -> dict[str, str]:
        """Versions of ``names`` as installed in the rig's venv (missing ones left out)."""
        code = ("import importlib.metadata as m, json, sys\n"
                "out = {}\n"
                "for n in sys.argv[1:]:\n"
                "    try: out[n] = m.version(n)\n"
                "    except m.PackageNotFoundError: pass\n"
                "print(json.dumps(out))")
        try:
            done = subprocess.run([str(self.python), "-c", code, *names], check=True,
                                  capture_output=True, text=True, timeout=60)
            return dict(json.loads(done.stdout))
        except (OSError, subprocess.SubprocessError, ValueError) as exc:
            raise RigError(f"Could not read the {self.framework} rig's installed versions "
                           f"({exc}); reinstall it: delete {self.venv} and run `connector-kit "
                           f"rig install {self.framework}`.") from None

    # -- processes ---------------------------------------------------------------------
    def spawn(self, name: str, argv: list[str], env: dict[str, str], cwd: Path) -> tuple[
            subprocess.Popen[bytes], Path]:
        """Start one server process in its own session, its output in ``logs/<name>.log``."""
        self.logs.mkdir(parents=True, exist_ok=True)
        log = self.logs / f"{name}.log"
        with log.open("wb") as fh:
            try:
                proc = subprocess.Popen(
                    argv, cwd=cwd, env={**env, **self.env}, stdout=fh, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL, start_new_session=True,
                )
            except OSError as exc:
                raise RigError(
                    f"Could not start {name} ({argv[0]}): {exc}. The rig's venv {self.venv} "
                    f"looks incomplete: delete it and run `connector-kit rig install "
                    f"{self.framework}`.") from None
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
        self.work.mkdir(parents=True, exist_ok=True)
        try:
            with _start_lock():
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
        handle = self._recorded_handle()
        if handle is None:
            return None
        if all(pid_alive(pid) for pid in handle.pids):
            return handle
        self.stop()
        return None

    def stop(self) -> None:
        """Stop every process the rig started, by PID, and forget them."""
        handle = self._recorded_handle()
        if handle is not None:
            for pid in handle.pids:
                stop_pid(pid)
        self.state_file.unlink(missing_ok=True)

    def _recorded_handle(self) -> RigHandle | None:
        try:
            text = self.state_file.read_text()
        except FileNotFoundError:
            return None
        try:
            return RigHandle(**json.loads(text))
        except (ValueError, TypeError) as exc:
            raise RigError(f"{self.state_file} is unreadable ({exc}). Stop any server it "
                           "started by hand, then delete the file.") from None


@contextlib.contextmanager
def _start_lock() -> Iterator[None]:
    """One rig start at a time on this machine, from port pick to healthy.

    A free port is only free until somebody binds it: two rigs starting together (two
    pytest workers, two checkouts) can pick the same one, and then one server exits while
    the other answers its health check. Holding this lock across the start closes that window.
    """
    from filelock import FileLock  # portable (no fcntl on Windows); the file is never unlinked

    with FileLock(str(Path(tempfile.gettempdir()) / "connector-kit-rig-start.lock")):
        yield



_VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.+!_-]{0,40}$")


def _check_version(version: str) -> None:
    # The version names a folder and a pin: refuse anything that could escape either.
    if not _VERSION.match(version) or ".." in version:
        raise RigError(f"{version!r} is not a version number (e.g. 0.15.0).")


def _pinned(lock_text: str, package: str) -> str | None:
    wanted = package.lower().replace("_", "-")
    for line in lock_text.splitlines():
        name, sep, version = line.split("#", 1)[0].strip().partition("==")
        if sep and name.strip().lower().replace("_", "-").split("[")[0] == wanted:
            return version.strip().split(";")[0].strip()
    return None

