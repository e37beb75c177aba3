"""One install per rig venv at a time: pytest-xdist workers start a rig and its variants together.

Offline: the rig here is hand-made, its install steps are recorded instead of run.
"""

from __future__ import annotations

import threading
from pathlib import Path

from filelock import FileLock

from connector_kit.testkit.rig import Rig


class RecordingRig(Rig):
    """Hand-made rig: ``_run`` records each install step instead of running it, and the first
    ``installed()`` answer can be held to False (the check a second worker made before the
    first finished)."""

    framework = "recording"

    def __init__(self, folder: Path, *, first_check_false: bool = False) -> None:
        super().__init__(folder)
        self.steps: list[str] = []
        self.checked = threading.Event()
        self._first_check_false = first_check_false

    def installed(self) -> bool:
        if self._first_check_false and not self.checked.is_set():
            self.checked.set()
            return False
        return super().installed()

    def _run(self, argv: list[str], quiet: bool, step: str, hint: str = "") -> None:
        self.steps.append(step)


def _rig_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "recording"
    folder.mkdir()
    (folder / "requirements.lock").write_text("example-server==1.0\n")
    return folder


def test_install_runs_its_steps_and_stamps_the_venv(tmp_path: Path) -> None:
    rig = RecordingRig(_rig_folder(tmp_path))
    rig.install()
    assert rig.steps == ["venv", "pip install uv", "uv pip install"]
    assert rig.installed()
    rig.install()  # installed: nothing runs again
    assert len(rig.steps) == 3


def test_an_install_that_waited_for_another_finds_it_done(tmp_path: Path) -> None:
    rig = RecordingRig(_rig_folder(tmp_path), first_check_false=True)
    rig.home.mkdir(parents=True, exist_ok=True)
    other = FileLock(str(rig.home / "install.flock"))
    other.acquire()  # another worker is installing
    waiter = threading.Thread(target=rig.install)
    try:
        waiter.start()
        assert rig.checked.wait(timeout=30)  # it saw "not installed" before the other finished
        (rig.home / "installed.lock").write_text(rig.lock.read_text())  # the other's stamp
    finally:
        other.release()
    waiter.join(timeout=30)
    assert not waiter.is_alive()
    assert rig.steps == []  # it did not install over the other's venv
