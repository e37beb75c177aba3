"""aexecute_code's hand-off to the worker threads: results settled several per loop wake-up.

Workers hold finished results (no wake-up) while enough jobs are queued, and the loop settles
them in one callback -- on the next wake-up, on its next submit, or by its own timer. These
tests check that every call still gets its own result, error, timeout and cancellation, with
pydantic-monty running for real (the dispatcher-only tests use plain functions: they test the
hand-off, not the sandbox).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

pytest.importorskip("pydantic_monty")

from connector_kit.connectors.code_interpreter import MontyConnector
from connector_kit.connectors.code_interpreter._dispatch import Dispatcher

SPIN = "while True:\n    pass"


@pytest.fixture
def make() -> Iterator[Callable[..., MontyConnector]]:
    made: list[MontyConnector] = []

    def factory(**kwargs: Any) -> MontyConnector:
        connector = MontyConnector(**kwargs)
        made.append(connector)
        return connector

    yield factory
    for connector in made:
        connector.close()


def test_a_burst_mixing_results_errors_and_timeouts_answers_each_call(
    make: Callable[..., MontyConnector],
) -> None:
    """One burst, several results per wake-up: each call gets its own value, its own error
    and its own time limit, in the order of its arguments."""
    connector = make(pool_size=2)
    assert connector.execute_code("1").success  # pool up

    async def burst() -> list[Any]:
        calls = []
        for i in range(48):
            if i % 12 == 5:
                calls.append(connector.aexecute_code(SPIN, timeout=0.3))
            elif i % 4 == 1:
                calls.append(connector.aexecute_code("raise ValueError(str(n))", inputs={"n": i}))
            else:
                calls.append(connector.aexecute_code("n * 2", inputs={"n": i}))
        results = await asyncio.gather(*calls)
        return [(r.success, r.return_value, r.error) for r in results]

    answers = asyncio.run(burst())
    for i, (success, value, error) in enumerate(answers):
        if i % 12 == 5:
            assert not success and error is not None and error.startswith("TimeoutError"), error
        elif i % 4 == 1:
            assert (success, error) == (False, f"ValueError: {i}")
        else:
            assert (success, value, error) == (True, i * 2, None)


def test_cancelling_calls_in_a_burst_leaves_the_others_correct_and_the_pool_reaped(
    make: Callable[..., MontyConnector],
) -> None:
    """Cancel every third call of a burst (some queued, some running): the others get their
    own results, the pool still runs, and close() reaps every worker -- so no cancelled call
    kept its slot (close waits for the in-flight count to reach zero)."""
    connector = make(pool_size=2)
    assert connector.execute_code("1").success

    async def go() -> tuple[list[Any], bool]:
        tasks = [asyncio.create_task(connector.aexecute_code("n + 1", inputs={"n": i}))
                 for i in range(60)]
        await asyncio.sleep(0)  # every call submitted
        for task in tasks[::3]:
            task.cancel()
        outcomes: list[Any] = []
        for task in tasks:
            try:
                outcomes.append((await task).return_value)
            except asyncio.CancelledError:
                outcomes.append("cancelled")
        after = await connector.aexecute_code("6 * 7")
        return outcomes, after.success and after.return_value == 42

    outcomes, still_works = asyncio.run(go())
    assert still_works
    assert all(outcomes[i] == "cancelled" for i in range(0, 60, 3))
    assert [outcomes[i] for i in range(60) if i % 3] == [i + 1 for i in range(60) if i % 3]
    pids = connector.worker_pids()
    assert pids
    connector.close()
    deadline = time.monotonic() + 30  # a hang guard only
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in pids)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_results_held_behind_long_runs_on_every_worker_still_arrive(
    make: Callable[..., MontyConnector],
) -> None:
    """Tiny runs, then one slow run per worker, then more tiny runs queued behind them: the
    first tiny runs' results were held (plenty queued when they finished), and both workers
    then run the slow ones with jobs still queued, so no worker wakes the loop for seconds.
    The loop's own timer bounds the hold: those results are settled before the slow runs end."""
    connector = make(pool_size=2)
    assert connector.execute_code("1").success

    async def go() -> tuple[list[Any], bool]:
        tiny = [asyncio.ensure_future(connector.aexecute_code("n", inputs={"n": i}))
                for i in range(20)]
        slow = [asyncio.ensure_future(connector.aexecute_code(SPIN, timeout=2.0))
                for _ in range(2)]
        behind = [asyncio.ensure_future(connector.aexecute_code("1")) for _ in range(8)]
        done, _pending = await asyncio.wait(tiny, timeout=60)
        before_slow = not any(task.done() for task in slow)
        await asyncio.gather(*slow, *behind)
        return [task.result().return_value for task in tiny if task in done], before_slow

    values, before_slow = asyncio.run(go())
    assert values == list(range(20))
    assert before_slow  # the tiny results did not wait for the 2 s runs


def test_a_loop_that_submits_again_settles_what_was_posted() -> None:
    """Dispatcher alone, plain functions: results are never dropped, an exception reaches its
    own caller only, and many rounds of bursts through one loop all complete."""
    dispatcher = Dispatcher(2, "test-dispatch")

    def work(n: int) -> int:
        if n % 7 == 3:
            raise KeyError(n)
        return n * n

    async def call(n: int) -> Any:
        future, _job = dispatcher.submit(work, n)
        try:
            return await future
        except KeyError as exc:
            return ("KeyError", exc.args[0])

    async def rounds() -> list[list[Any]]:
        return [await asyncio.gather(*(call(n) for n in range(40))) for _ in range(25)]

    try:
        got = asyncio.run(rounds())
    finally:
        dispatcher.shutdown()
    expected = [("KeyError", n) if n % 7 == 3 else n * n for n in range(40)]
    assert got == [expected] * 25


def test_a_job_cancelled_before_it_starts_never_runs() -> None:
    """A queued job withdrawn by ``cancel`` is skipped by the worker; one already running
    cannot be withdrawn, and its result is dropped without disturbing the next call."""
    dispatcher = Dispatcher(1, "test-dispatch")
    ran: list[str] = []
    gate = threading.Event()

    def blocker() -> str:
        ran.append("blocker")
        gate.wait(30)
        return "blocker"

    def queued() -> str:
        ran.append("queued")
        return "queued"

    async def go() -> tuple[bool, bool, str]:
        first, first_job = dispatcher.submit(blocker)
        second, second_job = dispatcher.submit(queued)
        while not ran:  # the worker has taken the blocker
            await asyncio.sleep(0.001)
        withdrawn = dispatcher.cancel(second_job)
        running_withdrawn = dispatcher.cancel(first_job)
        first.cancel()
        second.cancel()
        gate.set()
        third, _ = dispatcher.submit(lambda: "third")
        return withdrawn, running_withdrawn, await third

    try:
        withdrawn, running_withdrawn, third = asyncio.run(go())
    finally:
        gate.set()
        dispatcher.shutdown()
    assert (withdrawn, running_withdrawn, third) == (True, False, "third")
    assert ran == ["blocker"]
