"""The Langflow live rig: a real Langflow server and a fake OpenAI server of ours, on loopback.

``python live/langflow/rig.py install|up|down|status`` (prints the handle as JSON).

What ``up`` does (see README.md):

1. starts ``fake_openai.py`` (our own stdlib OpenAI-compatible server) on a free port;
2. starts ``langflow run --backend-only`` from the rig's venv on another free port, with a
   fresh database and every writable path (config, tmp, HOME, caches) inside ``work/``, a
   random API key per start, and no telemetry;
3. once ``/health`` answers, builds three flows through Langflow's API from its own
   component catalogue (``build_flows.py``): nothing exported from Langflow is committed.
"""

from __future__ import annotations

import importlib.util
import secrets
import shutil
import sys
import time
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent

try:
    from connector_kit.testkit.rig import (
        Rig,
        RigError,
        RigHandle,
        free_port,
        port_is_free,
        wait_http_ok,
    )
except ImportError as err:  # pragma: no cover - wrong interpreter
    raise SystemExit(f"connector_kit is not importable ({err}); run this with the project's venv, "
                     "e.g. .venv/bin/python live/langflow/rig.py up") from err

#: Distributions whose installed versions the handle reports (``lfx`` carries the release).
PINNED = ("langflow-base", "lfx", "lfx-openai")

#: Console scripts that start the server: 1.12+ installs ``langflow``, 1.11 ``langflow-base``.
SCRIPTS = ("langflow", "langflow-base")


def _load_sibling(name: str) -> ModuleType:
    """Import ``<name>.py`` from this folder by path: rig folders are not packages, and a
    plain ``import build_flows`` would clash between rigs or depend on sys.path."""
    spec = importlib.util.spec_from_file_location(f"_connector_kit_langflow_{name}",
                                                  HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class LangflowRig(Rig):
    framework = "langflow"
    # Langflow's own start is 16-28 s here; the first catalogue fetch adds a few seconds.
    start_timeout = 120.0
    version_package = "lfx"

    def requirements_for(self, version: str) -> list[str]:
        """A Langflow release's server packages.

        From 1.12 the server is ``langflow-base`` of the same number; 1.11 is
        ``langflow-base`` 0.11.x (its ``lfx`` is 1.11.x, its console script
        ``langflow-base``). The OpenAI model component ships separately (``lfx-openai``),
        which 1.11's own catalogue lacks unless it is installed.
        """
        parts = version.split(".")
        try:
            major, minor = int(parts[0]), int(parts[1])
        except (IndexError, ValueError):
            raise RigError(f"{version!r} is not a Langflow release such as 1.12.8.") from None
        if (major, minor) >= (1, 12):
            return [f"langflow-base=={version}", "lfx-openai"]
        if major == 1 and minor >= 10 and len(parts) == 3:
            return [f"langflow-base==0.{minor}.{parts[2]}", f"lfx=={version}", "lfx-openai"]
        raise RigError(f"Langflow {version} is older than the rig supports (1.10 and later).")

    def _server_script(self) -> Path:
        for name in SCRIPTS:
            if self.bin(name).exists():
                return self.bin(name)
        raise RigError(f"Neither of {SCRIPTS} is in {self.venv / 'bin'}: the install is "
                       f"incomplete. Delete {self.venv} and run `connector-kit rig install "
                       f"langflow{' --server-version ' + self.version if self.server_version else ''}`.")

    def _two_free_ports(self) -> tuple[int, int]:
        """Two distinct ports free on 127.0.0.1 (bind-to-0 can hand out the same one twice)."""
        for _ in range(20):
            a, b = free_port(), free_port()
            if a != b and port_is_free(a) and port_is_free(b):
                return a, b
        raise RigError("could not find two free ports on 127.0.0.1")

    def _fresh_dirs(self) -> dict[str, Path]:
        """Wipe the previous start's state: a fresh database is what makes runs repeatable
        (a reused session_id would otherwise pull old history into the prompt)."""
        dirs = {"data": self.work / "data", "tmp": self.work / "tmp", "home": self.work / "home"}
        for path in dirs.values():
            shutil.rmtree(path, ignore_errors=True)
            path.mkdir(parents=True)
        (dirs["tmp"] / "outbox").mkdir()
        return dirs

    def _env(self, dirs: dict[str, Path], api_key: str) -> dict[str, str]:
        env = self.base_env()
        home = dirs["home"]
        env.update({
            # Everything Langflow writes stays in work/: ~/.langflow, ~/.cache/langflow, /tmp.
            "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache"),
            "XDG_CONFIG_HOME": str(home / ".config"), "XDG_DATA_HOME": str(home / ".local/share"),
            "TMPDIR": str(dirs["tmp"]),
            "LANGFLOW_CONFIG_DIR": str(dirs["data"]),
            "LANGFLOW_DATABASE_URL": f"sqlite:///{dirs['data'] / 'langflow.db'}",
            "LANGFLOW_TELEMETRY_WRITER_OUTBOX_DIR": str(dirs["tmp"] / "outbox"),
            # No telemetry, no store, no starter projects (they would only slow the start).
            "DO_NOT_TRACK": "true", "LANGFLOW_DO_NOT_TRACK": "true", "LANGFLOW_STORE": "false",
            "LANGFLOW_CREATE_STARTER_PROJECTS": "false",
            # Offline: the cost map is read from the package, not fetched.
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            # Real auth: a superuser, and the env key valid for /run (x-api-key).
            "LANGFLOW_AUTO_LOGIN": "false", "LANGFLOW_SUPERUSER": "admin",
            "LANGFLOW_SUPERUSER_PASSWORD": secrets.token_urlsafe(16),
            "LANGFLOW_API_KEY_SOURCE": "env", "LANGFLOW_API_KEY": api_key,
            # The OpenAI component refuses plain-http loopback URLs without this.
            "LANGFLOW_SSRF_ALLOWED_HOSTS": "127.0.0.1",
            # Rich tracebacks cost ~5 s each and a failed run logs six: plain JSON logs keep
            # an "LLM down" /run at ~0.2 s instead of ~30 s.
            "LANGFLOW_PRETTY_LOGS": "false",
        })
        return env

    def _versions(self) -> dict[str, str]:
        """Versions as installed in the rig's venv (not the project's)."""
        return self.versions_installed(PINNED)

    def _launch(self) -> RigHandle:
        started = time.monotonic()
        lf_port, fake_port = self._two_free_ports()
        dirs = self._fresh_dirs()
        api_key = "sk-ck-" + secrets.token_urlsafe(24)  # fresh per start; only in work/state.json
        env = self._env(dirs, api_key)

        fake_root = f"http://127.0.0.1:{fake_port}"
        fake_proc, fake_log = self.spawn(
            "fake_openai", [str(self.python), str(self.folder / "fake_openai.py"), str(fake_port)],
            env, self.folder)
        wait_http_ok(f"{fake_root}/health", timeout=15, proc=fake_proc, log=fake_log)

        url = f"http://127.0.0.1:{lf_port}"
        lf_proc, lf_log = self.spawn(
            "langflow", [str(self._server_script()), "run", "--host", "127.0.0.1",
                         "--port", str(lf_port), "--backend-only", "--no-open-browser"],
            env, self.work)
        wait_http_ok(f"{url}/health", timeout=self.start_timeout, proc=lf_proc, log=lf_log)
        healthy = time.monotonic()

        build_flows = _load_sibling("build_flows")
        try:
            flows = build_flows.build_all(url, api_key, fake_root,
                                          dump_to=self.work / "catalogue.json")
        except build_flows.FlowBuildError as err:
            raise RigError(f"building the Langflow flows failed: {err}") from err
        done = time.monotonic()

        return RigHandle(
            framework=self.framework, url=url, api_key=api_key,
            pids=[lf_proc.pid, fake_proc.pid], versions=self._versions(),
            extra={
                "flows": flows,
                "fake_llm_url": f"{fake_root}/v1",
                "fake_stats_url": f"{fake_root}/stats",
                "fake_model": build_flows.FAKE_MODEL,
                "logs": {"langflow": str(lf_log), "fake_openai": str(fake_log)},
                "start_seconds": {"health": round(healthy - started, 1),
                                  "total": round(done - started, 1)},
            },
        )


RIG = LangflowRig(HERE)


if __name__ == "__main__":
    # Same as `connector-kit rig install|up|down|status langflow`.
    from connector_kit.cli import main

    sys.exit(main(["rig", *sys.argv[1:2], RIG.framework]))
