"""What drift found, one difference at a time, and the same findings grouped for reading.

* :class:`Finding`: one difference between a committed and a fresh recording, at one place;
* :class:`GroupedFinding`: a finding and every scenario it was seen in;
* :class:`ValueChange`: the findings that are one change seen at many places (the same
  ``was`` and ``now``): a reworded answer that a Langflow body repeats in ten fields and a
  stream in 34 places (the live Langflow drift test counts them) is one thing to read.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Finding:
    """One difference between a committed and a fresh recording.

    ``layer`` is ``"wire"`` (what the server sent) or ``"outcome"`` (what the connector's
    parsed result says);
    ``where`` names the request (``POST /threads/<uuid>/runs/wait``) or ``outcome``;
    ``path`` is the JSON path inside it (``body.messages[1].status``); ``change`` is
    ``changed``, ``added``, ``removed``, ``type`` or ``interleaved`` (a stream whose
    producers' events came in another order: ``informational``, not drift).
    """

    layer: str
    where: str
    path: str
    change: str
    before: Any = None
    after: Any = None
    informational: bool = False

    def key(self) -> tuple[str, ...]:
        return (self.layer, self.where, self.path, self.change, as_json(self.before),
                as_json(self.after))

    def describe(self) -> str:
        place = f"{self.where} {self.path}".strip()
        if self.change == "interleaved":
            return (f"{place}: the same events per producer, interleaved differently "
                    f"(informational: concurrent producers; {len(self.after or [])} events)")
        if self.change == "added":
            return f"{place}: added, now {short(self.after)}"
        if self.change == "removed":
            return f"{place}: removed, was {short(self.before)}"
        return f"{place}: was {short(self.before)}, now {short(self.after)}"

    def to_dict(self) -> dict[str, Any]:
        return {"layer": self.layer, "where": self.where, "path": self.path,
                "change": self.change, "was": self.before, "now": self.after,
                "informational": self.informational}


@dataclass
class GroupedFinding:
    """A finding and every scenario it was seen in."""

    finding: Finding
    scenarios: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {**self.finding.to_dict(), "description": self.finding.describe(),
                "scenarios": self.scenarios}


@dataclass
class ValueChange:
    """One change (``change``, ``was`` and ``now`` equal) and every place it was found."""

    change: str
    before: Any
    after: Any
    places: list[str] = field(default_factory=list)
    scenarios: list[str] = field(default_factory=list)

    def describe(self) -> str:
        where = "1 place" if len(self.places) == 1 else f"{len(self.places)} places"
        if self.change == "added":
            what = f"added {short(self.after)}"
        elif self.change == "removed":
            what = f"removed {short(self.before)}"
        else:
            what = f"{short(self.before)} -> {short(self.after)}"
        return f"{what}, at {where} (in {', '.join(self.scenarios)})"

    def to_dict(self) -> dict[str, Any]:
        return {"change": self.change, "was": self.before, "now": self.after,
                "places": self.places, "scenarios": self.scenarios,
                "description": self.describe()}


def value_changes(groups: Iterable[GroupedFinding]) -> list[ValueChange]:
    """The drift (not the notes) of ``groups`` rolled up by change, was and now, in
    first-seen order."""
    changes: dict[tuple[str, str, str], ValueChange] = {}
    for group in groups:
        f = group.finding
        if f.informational:
            continue
        change = changes.setdefault((f.change, as_json(f.before), as_json(f.after)),
                                    ValueChange(f.change, f.before, f.after))
        change.places.append(f"{f.where} {f.path}".strip())
        change.scenarios += [name for name in group.scenarios if name not in change.scenarios]
    return list(changes.values())


def as_json(value: Any) -> str:
    """A value as a key: equal values give equal text, whatever their dicts' order."""
    return json.dumps(value, sort_keys=True, default=str)


def short(value: Any, width: int = 80) -> str:
    """A value as a report line shows it (a 10 KB body must not become a 10 KB line)."""
    text = json.dumps(value, ensure_ascii=False, default=str) if not isinstance(value, str) \
        else repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def table_cell(text: str) -> str:
    """Text that cannot break a Markdown table row."""
    return text.replace("|", "\\|").replace("\n", " ")
