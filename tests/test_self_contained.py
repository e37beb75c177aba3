"""The suite reads nothing outside the repository (a fresh clone runs every test)."""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent
#: The machine's shared reference folder beside the repo, however a test would spell it
#: (``parents[2] / "shared"``, ``../shared``, an absolute path): absent on a fresh clone.
OUTSIDE = re.compile(r"""["']shared["']|\.\./shared|/work/|shared/reference""")


def test_no_test_reads_outside_the_repo() -> None:
    offenders = []
    for path in sorted(TESTS.rglob("*.py")):
        if path == Path(__file__).resolve():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if OUTSIDE.search(line) and not line.lstrip().startswith(('"""', "#")):
                offenders.append(f"{path.relative_to(TESTS)}:{number}: {line.strip()}")
    assert offenders == []
