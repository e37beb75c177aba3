"""The LangGraph rig: a real ``langgraph dev`` API server on 127.0.0.1 serving our fake agent.

Usage: ``python live/langgraph/rig.py up|down|status|install`` (with the project's venv python).
``up`` and ``status`` print the handle as JSON, api key included; logs go to ``work/logs/``.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

from connector_kit.testkit.rig import (
    Rig,
    RigError,
    RigHandle,
    free_port,
    port_is_free,
    wait_http_ok,
)

#: The server reads the expected ``x-api-key`` from this variable (see auth.py).
KEY_ENV = "CONNECTOR_KIT_LANGGRAPH_KEY"

#: What langgraph_api.cli logs when it silently falls back to a random port.
_MOVED = "is already in use, using port"

#: Files copied into the server's working directory at each start (langgraph.json is written).
SERVER_FILES = ("fake_agent.py", "fake_wire.py", "auth.py")

#: The drift switches of fake_agent.py / fake_wire.py (read in the server process).
SWITCH_ENV = "CONNECTOR_KIT_FAKE_DRIFT"
WIRE_SWITCHES = frozenset({"trace_field", "middle_key", "content_type"})

#: Old releases resolve against the index as it was then (newer dependencies break them).
EXCLUDE_NEWER = {"0.4": "2025-09-15"}

#: Distributions whose installed versions the handle reports.
VERSIONED = ("langgraph", "langgraph-api", "langgraph-cli", "langchain-core")

#: Keeps the server offline and quiet: no analytics, version check, tracing or metrics export.
SERVER_ENV = {
    "LANGGRAPH_CLI_NO_ANALYTICS": "1",
    "LANGGRAPH_NO_VERSION_CHECK": "1",
    "LANGSMITH_TRACING": "false",
    "LANGCHAIN_TRACING_V2": "false",
    "LANGSMITH_API_KEY": "",
    "LANGCHAIN_API_KEY": "",
    "LANGGRAPH_METRICS_ENABLED": "false",
    "OTEL_SDK_DISABLED": "true",
    "PYTHONUNBUFFERED": "1",
    "LOG_COLOR": "false",  # plain text in work/logs/ (the banner keeps its colours)
}


class LangGraphRig(Rig):
    framework = "langgraph"
    version_package = "langgraph-api"

    def requirements_for(self, version: str) -> list[str]:
        # The API server names the release; the rest resolves to what that server accepts.
        return ["langgraph-cli[inmem]", f"langgraph-api=={version}", "langgraph-runtime-inmem",
                "langgraph", "langgraph-sdk", "langchain-core"]

    def exclude_newer_for(self, version: str) -> str | None:
        return EXCLUDE_NEWER.get(".".join(version.split(".")[:2]))

    def _write_config(self, env: dict[str, str]) -> None:
        """langgraph.json, plus the drift middleware when a wire switch is on."""
        config = json.loads((self.folder / "langgraph.json").read_text())
        active = {s.strip() for s in env.get(SWITCH_ENV, "").split(",")}
        if active & WIRE_SWITCHES:
            config["http"] = {"app": "./fake_wire.py:app"}
        (self.server_dir / "langgraph.json").write_text(json.dumps(config, indent=2))

    @property
    def server_dir(self) -> Path:
        # The server's cwd: its .langgraph_api/ state lands here and is wiped at each start.
        return self.work / "server"

    def _launch(self) -> RigHandle:
        port = self._pick_port()
        if self.server_dir.exists():
            shutil.rmtree(self.server_dir)
        self.server_dir.mkdir(parents=True)
        for name in SERVER_FILES:
            shutil.copy2(self.folder / name, self.server_dir / name)

        key = secrets.token_urlsafe(24)  # fresh per start; only in the env and the state file
        env = {**self.base_env(), **SERVER_ENV, **self.env, KEY_ENV: key}
        self._write_config(env)
        argv = [str(self.bin("langgraph")), "dev", "--no-browser", "--no-reload",
                "--host", "127.0.0.1", "--port", str(port)]
        proc, log = self.spawn("langgraph", argv, env, self.server_dir)
        url = f"http://127.0.0.1:{port}"
        self._wait_healthy(url, proc, log)
        self._check_own_port(proc.pid, port, log)
        return RigHandle(framework=self.framework, url=url, api_key=key, pids=[proc.pid],
                         versions=self._versions(), extra={"log": str(log)})

    @staticmethod
    def _pick_port(tries: int = 5) -> int:
        # free_port() releases the socket before we use it, so re-check (bounded) for races.
        for _ in range(tries):
            port = free_port()
            if port_is_free(port):
                return port
        raise RigError("could not find a free port on 127.0.0.1")

    def _wait_healthy(self, url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
        # Wait in 1 s slices so a silent move to another port (the port was taken between our
        # check and the bind) fails in ~1 s instead of after the whole start timeout.
        deadline = time.monotonic() + self.start_timeout
        while True:
            try:
                wait_http_ok(f"{url}/ok", timeout=1.0, proc=proc, log=log)
                return
            except RigError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise
                if _MOVED in log.read_text(errors="replace"):
                    raise RigError(f"{url}: port was taken; langgraph moved elsewhere "
                                   f"(see {log})") from None

    @staticmethod
    def _check_own_port(pid: int, port: int, log: Path) -> None:
        """Fail if the server is not the one listening on ``port``.

        ``langgraph dev`` silently moves to a random port when the requested one is taken, and
        then /ok on our port may be answered by somebody else's server.
        """
        text = log.read_text(errors="replace")
        if _MOVED in text:
            raise RigError(f"port {port} was taken; langgraph moved elsewhere (see {log})")
        owned = _listening_in_group(pid, port)
        if owned is False:
            raise RigError(f"port {port} answers /ok but is not held by langgraph pid {pid}")

    def _versions(self) -> dict[str, str]:
        return self.versions_installed(VERSIONED)


def _listening_in_group(pgid: int, port: int) -> bool | None:
    """Whether a process of group ``pgid`` holds the LISTEN socket on ``port`` (Linux /proc).

    None when /proc cannot tell (not Linux); the log check above still applies then.
    """
    proc = Path("/proc")
    inodes: set[str] = set()
    for table in ("net/tcp", "net/tcp6"):
        try:
            lines = (proc / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            # cols[1] = local "ADDR:PORT" in hex, cols[3] = state (0A = LISTEN), cols[9] = inode
            if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(cols[9])
    if not inodes:
        return None if not (proc / "net/tcp").exists() else False
    wanted = {f"socket:[{inode}]" for inode in inodes}
    for stat in proc.glob("[0-9]*/stat"):
        try:
            # the field after the ")" of the command name: state, ppid, pgrp
            if int(stat.read_text().rsplit(")", 1)[1].split()[2]) != pgid:
                continue
            fds = list((stat.parent / "fd").iterdir())
        except (OSError, ValueError, IndexError):
            continue
        for fd in fds:
            try:
                if str(fd.readlink()) in wanted:
                    return True
            except OSError:
                continue
    return False


RIG = LangGraphRig(Path(__file__).parent)


if __name__ == "__main__":
    # Same as `connector-kit rig install|up|down|status langgraph`.
    from connector_kit.cli import main

    sys.exit(main(["rig", *sys.argv[1:2], RIG.framework]))
