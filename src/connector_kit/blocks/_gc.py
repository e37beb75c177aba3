"""Finished rows kept out of CPython's full garbage collections while a block runs.

Why: an AgentBlock row's response dict is ~20 tracked containers, held in the output column
until ``generate`` returns. Each full (generation-2) collection scans every tracked object,
so its pause grows with the rows already finished: on a 100,000-row run they are ~4 % of the
run's CPU and ~0.9 s each near the end, landing in the last tenth of the rows. The results
cannot be untracked, but ``gc.freeze()`` (the standard library's tool for exactly this: live
objects the collector should stop scanning) moves everything tracked so far into the
permanent generation, which collections skip; ``gc.unfreeze()`` when the run ends hands them
back, so the process leaves ``generate`` in the GC state it entered with.

Scope and limits (the GC is process-wide):

- only when nothing is frozen on entry (``gc.get_freeze_count() == 0``): a process that froze
  objects itself (e.g. before ``fork``) keeps its freeze, and no freeze of ours is added;
- scopes nest and may run in several threads at once; the last one to end unfreezes;
- at the start, a freeze of what the process already holds (after a young collection);
- every :data:`FREEZE_EVERY` rows: one full collection, then the freeze. The collection scans
  only what is not frozen yet (the last rows and whatever else the run allocated since), so it
  costs a few ms, and no cyclic garbage is frozen;
- meanwhile the collector's automatic runs are young-only: generation 0 is collected as usual
  (a short-lived cycle is still freed within ~700 allocations), the older generations only by
  the step above. At hundreds in flight every row in flight holds ~100 tracked objects
  (coroutines, frames, buffers) for the agent's whole latency, and the automatic
  generation-1 and -2 collections re-scanned them again and again: ~35 us of CPU per row at
  500 in flight, ~10 % of it, for no garbage (the kit's own path makes none; see
  ``docs/architecture.md``, "Garbage per row"). The thresholds the process had are restored
  when the last scope ends, unless someone changed them meanwhile.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

#: Finished rows between two collect-and-freeze steps (a freeze is O(1): a list splice).
FREEZE_EVERY = 1000

_lock = threading.Lock()
_active = 0  # scopes running now (any thread)
_may_freeze = False  # decided by the first scope: nothing was frozen when it began
_saved_thresholds: tuple[int, ...] | None = None  # the process's, while ours are in force
#: Generations 1 and 2 never start on their own: their counters cannot reach this.
_NEVER = 1 << 30


@contextmanager
def frozen_as_finished(every: int | None = None) -> Iterator[Callable[[], None]]:
    """Yield ``row_finished()``; every ``every`` calls (default :data:`FREEZE_EVERY`) it runs
    a full collection and freezes what the GC tracks so far.

    On exit (return, exception, ``KeyboardInterrupt``) the last running scope unfreezes, if
    any scope was allowed to freeze.
    """
    global _active, _may_freeze, _saved_thresholds
    with _lock:
        if _active == 0:
            _may_freeze = gc.get_freeze_count() == 0
            threshold = gc.get_threshold()
            if _may_freeze and threshold[0] > 0:  # 0: the process turned automatic runs off
                _saved_thresholds = threshold
                gc.set_threshold(threshold[0], _NEVER, _NEVER)
        _active += 1
        allowed = _may_freeze
    if allowed:
        # What the process held before the run (its modules, pandas, the caller's data) is
        # frozen at once, so the first collection below does not scan it (measured at 500 in
        # flight: 65-84 ms for that one pause, 215-235 ms of full collections per 5,500 rows,
        # 85-92 ms with this freeze). Young garbage is collected first; garbage already in
        # the oldest generation waits for the run's end, as it would for the next full collection.
        gc.collect(1)
        gc.freeze()
    pending, step = 0, every or FREEZE_EVERY

    def row_finished() -> None:
        nonlocal pending
        pending += 1
        if pending >= step:
            pending = 0
            if allowed:
                # A full collection now scans only what is not frozen yet (the last rows and
                # their garbage), so no cyclic garbage is frozen with them.
                gc.collect()
                gc.freeze()

    try:
        yield row_finished
    finally:
        with _lock:
            _active -= 1
            if _active == 0 and _may_freeze:
                _may_freeze = False
                gc.unfreeze()
                saved, _saved_thresholds = _saved_thresholds, None
                if saved is not None and gc.get_threshold() == (saved[0], _NEVER, _NEVER):
                    gc.set_threshold(*saved)


__all__ = ["FREEZE_EVERY", "frozen_as_finished"]
