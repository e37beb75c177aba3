"""Finding a rig: ``live/<framework>/rig.py`` loaded, and what a recording notes about it."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from .base import Rig
from .handle import RigError, RigHandle


def rig_metadata(rig: Rig, handle: RigHandle) -> dict[str, Any]:
    """What a recording made on ``rig`` notes in its cassette's metadata."""
    return {"rig": f"live/{rig.framework}", "server_version": rig.version,
            "server_versions": dict(handle.versions)}


def load_rig(framework: str, live_dir: Path | None = None, *,
             server_version: str | None = None) -> Rig:
    """Load ``live/<framework>/rig.py`` and return its ``RIG`` (on ``server_version``)."""
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
    rig = getattr(module, "RIG", None)
    if not isinstance(rig, Rig):
        raise RigError(f"{path} must define RIG, an instance of connector_kit.testkit.rig.Rig")
    return rig.for_version(server_version) if server_version else rig



def _default_live_dir() -> Path:
    here = Path.cwd()
    for folder in (here, *here.parents):
        if (folder / "live").is_dir():
            return folder / "live"
    return Path(__file__).resolve().parents[4] / "live"
