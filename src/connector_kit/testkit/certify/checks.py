"""Checks and their verdicts: what a check is, how it runs, and what one result says.

A verdict means work was done. A check reports what it exercised (``exercised``: scenarios,
requests, examples); one that exercised nothing is "not run", never "passed". A check fails
by raising :class:`CheckFailed`, says it could not do its work here by raising
:class:`CheckNotRun` (or is built with :func:`not_run`), and any other exception is an
"error" row whose detail is one line a reader can act on.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ...connectors.exceptions import ConnectorKitError

Status = Literal["passed", "failed", "bypassed", "not run", "error"]
STATUSES: tuple[Status, ...] = ("passed", "failed", "error", "bypassed", "not run")


class CheckFailed(AssertionError):
    """Raised inside a check to fail it with a message (and optional figures)."""

    def __init__(self, message: str, figures: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.figures = figures or {}


class CheckNotRun(Exception):
    """Raised inside a check when it cannot do its work here; strict mode fails on it."""


#: The former name, kept for suites written against it.
CheckSkipped = CheckNotRun


@dataclass
class CheckResult:
    suite: str
    name: str
    status: Status
    detail: str = ""
    duration_ms: float = 0.0
    figures: dict[str, Any] = field(default_factory=dict)
    #: What the check actually did: {"scenarios": 3, "requests": 5}, {"examples": 200}.
    exercised: dict[str, int] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.suite}.{self.name}"

    def work(self) -> str:
        return ", ".join(f"{count} {what}" for what, count in self.exercised.items())


@dataclass
class Check:
    """One check: a name, the suite it belongs to, and what it runs."""

    suite: str
    name: str
    run: Callable[[], dict[str, Any] | str | None]
    description: str = ""
    bypass_reason: str | None = None

    @property
    def id(self) -> str:
        return f"{self.suite}.{self.name}"

    def execute(self) -> CheckResult:
        if self.bypass_reason:
            return CheckResult(self.suite, self.name, "bypassed", self.bypass_reason)
        started = time.perf_counter()
        try:
            produced = self.run()
        except CheckFailed as exc:
            return CheckResult(self.suite, self.name, "failed", str(exc), elapsed_ms(started),
                               exc.figures)
        except CheckNotRun as exc:
            return CheckResult(self.suite, self.name, "not run", str(exc), elapsed_ms(started))
        except Exception as exc:
            # One line a reader can act on; a report cell never holds a traceback.
            return CheckResult(self.suite, self.name, "error", describe_error(exc),
                               elapsed_ms(started))
        figures = produced if isinstance(produced, dict) else {}
        detail = produced if isinstance(produced, str) else str(figures.pop("detail", ""))
        exercised = {str(k): int(v) for k, v in (figures.pop("exercised", None) or {}).items()}
        if exercised and not any(exercised.values()):
            nothing = ", ".join(f"0 {what}" for what in exercised)
            return CheckResult(self.suite, self.name, "not run", f"exercised nothing ({nothing})"
                               + (f": {detail}" if detail else ""), elapsed_ms(started), figures,
                               exercised)
        return CheckResult(self.suite, self.name, "passed", detail, elapsed_ms(started), figures,
                           exercised)


def not_run(suite: str, reason: str, *, name: str = "*", description: str = "",
            bypass_reason: str | None = None) -> Check:
    """A check that does no work and reports why: "not run" with ``reason`` as its detail.

    For a suite that does not apply to a connector, or lacks what it needs (no cassettes,
    no successful exchange). With ``bypass_reason`` it is a declared bypass instead.
    """

    def run() -> None:
        raise CheckNotRun(reason)

    return Check(suite, name, run, description, bypass_reason)


def error_check(suite: str, exc: BaseException, *, name: str = "*") -> Check:
    """A check whose row is the error ``exc``: a suite that could not even build its checks."""

    def run() -> None:
        raise exc

    return Check(suite, name, run)


def describe_error(exc: BaseException) -> str:
    """``Type: message``, and for an unexpected exception where it was raised (file:line)."""
    text = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, ConnectorKitError):
        return text
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        last = frames[-1]
        text += f" (raised at {Path(last.filename).name}:{last.lineno})"
    return text


def elapsed_ms(started: float) -> float:
    """Milliseconds since ``started`` (a :func:`time.perf_counter` reading)."""
    return (time.perf_counter() - started) * 1000
