"""MontyConnector against the REAL pydantic-monty worker pool: no mocks.

Every escape attempt must end as ``success=False`` with a clear message, the host must survive,
and the next execution on the same connector must work. The last test checks that no ``monty``
worker process started by this module is left behind.
"""

from __future__ import annotations

import asyncio
import copy
import gc
import math
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

pytest.importorskip("pydantic_monty")

from connector_kit.connectors import (
    CodeExecutionSetupError,
    ConnectorConfig,
    ConnectorConfigError,
    ConnectorRegistry,
    ConnectorRequestError,
)
from connector_kit.connectors.code_interpreter import (
    BaseCodeInterpreterConnector,
    CodeExecutionResult,
    MontyConnector,
)

# -- helpers -------------------------------------------------------------------------------


def live_monty_children() -> set[int]:
    """PIDs of this process's children named ``monty`` that are alive (not zombies)."""
    me = str(os.getpid())
    found: set[int] = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as handle:
                stat = handle.read()
        except OSError:
            continue
        comm = stat[stat.find("(") + 1 : stat.rfind(")")]
        state, ppid = stat[stat.rfind(")") + 2 :].split()[:2]
        if ppid == me and comm == "monty" and state != "Z":
            found.add(int(entry))
    return found


def any_child_process(pids: set[int]) -> set[int]:
    """The PIDs in ``pids`` that still exist as children of this process, zombies included."""
    me = str(os.getpid())
    left: set[int] = set()
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as handle:
                stat = handle.read()
        except OSError:
            continue
        if stat[stat.rfind(")") + 2 :].split()[1] == me:
            left.add(pid)
    return left


_CREATED: list[MontyConnector] = []
_USED_PIDS: set[int] = set()
_BASELINE = live_monty_children()


def track(connector: MontyConnector) -> MontyConnector:
    _CREATED.append(connector)
    return connector


def close_tracked(connector: MontyConnector) -> None:
    _USED_PIDS.update(connector.worker_pids())
    connector.close()


@pytest.fixture
def make() -> Iterator[Callable[..., MontyConnector]]:
    made: list[MontyConnector] = []

    def factory(**kwargs: Any) -> MontyConnector:
        connector = track(MontyConnector(**kwargs))
        made.append(connector)
        return connector

    yield factory
    for connector in made:
        close_tracked(connector)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[MontyConnector]:
    """One connector shared by the escape tests: the next execution must always work."""
    connector = track(
        MontyConnector(
            config=ConnectorConfig(timeout=2.0),
            pool_size=2,
            kill_grace_secs=0.5,
        )
    )
    yield connector
    close_tracked(connector)


def assert_works(connector: MontyConnector) -> None:
    after = connector.execute_code("print('still alive')\n20 + 22")
    assert after.success, after.error
    assert after.output == "still alive\n"
    assert after.return_value == 42


# -- the spec's examples, as written -------------------------------------------------------

SPEC_EXAMPLE = '''
from connector_kit.connectors.code_interpreter import MontyConnector
from connector_kit.connectors import ConnectorConfig

connector = MontyConnector(config=ConnectorConfig())

# Simple execution
result = connector.execute_code("x = 1 + 1\\nprint(x)")
print(result.success)  # True
print(result.output)   # "2\\n"

# With input variables
result = connector.execute_code(
    "result = x + y\\nprint(result)",
    inputs={"x": 10, "y": 20},
)
print(result.output)  # "30\\n"

# Async execution (native, not thread-wrapped)
import asyncio

async def main():
    result = await connector.aexecute_code("print('async!')")
    print(result.output)  # "async!\\n"

asyncio.run(main())
'''


def test_spec_monty_example_runs_as_written() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SPEC_EXAMPLE], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "True\n2\n\n30\n\nasync!\n\n"


def test_spec_result_example() -> None:
    result = CodeExecutionResult(
        success=True,
        output="Hello, world!\n",
        error=None,
        return_value=42,
        execution_time_ms=1.23,
    )
    assert result.success and result.return_value == 42 and result.execution_time_ms == 1.23


@pytest.mark.usefixtures("restore_registry")
def test_spec_custom_interpreter_example() -> None:
    import time
    from typing import Optional

    from pydantic import Field

    from connector_kit.connectors import ConnectorConfig, ConnectorRegistry
    from connector_kit.connectors.code_interpreter import (
        BaseCodeInterpreterConnector,
        CodeExecutionResult,
    )

    @ConnectorRegistry.register("my_interpreter")
    class MyInterpreterConnector(BaseCodeInterpreterConnector):
        """Connector for a custom Python interpreter."""

        config: ConnectorConfig = Field(
            default_factory=lambda: ConnectorConfig(),
            description="Connector configuration",
        )

        def execute_code(
            self,
            code: str,
            inputs: Optional[dict[str, Any]] = None,  # noqa: UP045
            timeout: Optional[float] = None,  # noqa: UP045
        ) -> CodeExecutionResult:
            """Execute code in the custom interpreter."""
            start = time.perf_counter()
            try:
                output = self._run_in_sandbox(code, inputs, timeout)
                elapsed = (time.perf_counter() - start) * 1000
                return CodeExecutionResult(
                    success=True,
                    output=output,
                    error=None,
                    return_value=None,
                    execution_time_ms=elapsed,
                )
            except Exception as e:
                elapsed = (time.perf_counter() - start) * 1000
                return CodeExecutionResult(
                    success=False,
                    output=None,
                    error=str(e),
                    return_value=None,
                    execution_time_ms=elapsed,
                )

        def _run_in_sandbox(
            self,
            code: str,
            inputs: Optional[dict[str, Any]] = None,  # noqa: UP045
            timeout: Optional[float] = None,  # noqa: UP045
        ) -> str:
            raise NotImplementedError("Implement your sandbox backend here")

    assert ConnectorRegistry.get("my_interpreter") is MyInterpreterConnector
    connector = MyInterpreterConnector()
    result = connector.execute({"code": "print(1)"})
    assert not result.success and result.error == "Implement your sandbox backend here"
    aresult = asyncio.run(connector.aexecute_code("print(1)"))
    assert not aresult.success
    health = connector.check()
    assert health.status == "unhealthy" and health.error and health.checked == "1 + 1"


def test_registered_as_monty_and_default_config() -> None:
    assert ConnectorRegistry.get("monty") is MontyConnector
    connector = MontyConnector()
    assert connector.config.timeout == 120.0
    assert 1 <= connector.pool_size <= 4
    assert connector.worker_pids() == set()  # nothing started until first use


# -- results -------------------------------------------------------------------------------


def test_output_return_value_and_timing(make: Callable[..., MontyConnector]) -> None:
    connector = make()
    result = connector.execute_code(
        "import sys\nprint('a')\nprint('b', file=sys.stderr)\n{'n': n * 2, 't': (1, 2)}",
        inputs={"n": 21},
    )
    assert result.success and result.error is None
    assert result.output == "a\nb\n"
    assert result.return_value == {"n": 42, "t": (1, 2)}
    assert result.execution_time_ms is not None and result.execution_time_ms > 0

    failed = connector.execute_code("print('before')\n1 / 0")
    assert not failed.success
    assert failed.error == "ZeroDivisionError: division by zero"
    assert failed.output == "before\n"  # output printed before the error is kept
    assert failed.return_value is None
    assert failed.execution_time_ms is not None


def test_a_batch_gives_every_job_its_own_outcome(sandbox: MontyConnector) -> None:
    """``execute_many_fields`` runs a batch back to back in one thread: each job still gets
    its own session, time limit and outcome; a failing or timed-out job leaves the jobs
    after it correct, and code that is not a str fails without running."""
    jobs: list[tuple[int, Any]] = [
        (0, "print('a')\n1 + 1"),
        (1, "raise ValueError('row 1 only')"),
        (2, "while True:\n    pass"),
        (3, 42),
        (4, "x = 5\nx * 2"),
        (5, "x"),  # a fresh session: row 4's x is gone
    ]
    seen: dict[int, tuple[bool, str, str | None, Any, float | None]] = {}

    def on_outcome(key: int, success: bool, output: str, error: str | None, value: Any,
                   ms: float | None) -> None:
        assert key not in seen
        seen[key] = (success, output, error, value, ms)

    sandbox.execute_many_fields(iter(jobs), on_outcome, timeout=0.3)
    assert sorted(seen) == [0, 1, 2, 3, 4, 5]
    assert seen[0][:4] == (True, "a\n", None, 2)
    assert not seen[1][0] and seen[1][2] == "ValueError: row 1 only"
    assert not seen[2][0] and "TimeoutError" in (seen[2][2] or "")
    assert not seen[3][0] and "code must be a str" in (seen[3][2] or "")
    assert seen[4][:4] == (True, "", None, 10)
    assert not seen[5][0] and "NameError" in (seen[5][2] or "")
    assert all(ms is not None and ms >= 0 for *_, ms in seen.values())
    # execute_many: the same runs as CodeExecutionResults, one per job.
    results: list[tuple[int, CodeExecutionResult]] = []
    mixed: list[tuple[int, Any]] = [(7, "6 * 7"), (8, None)]
    sandbox.execute_many(mixed, lambda key, result: results.append((key, result)))
    assert [(key, result.success, result.return_value) for key, result in results] == [
        (7, True, 42), (8, False, None)]
    assert_works(sandbox)


def test_a_batch_of_unrunnable_jobs_starts_no_pool(make: Callable[..., MontyConnector]) -> None:
    connector = make(pool_size=1)
    errors: list[str | None] = []
    unrunnable: list[tuple[int, Any]] = [(0, None), (1, b"1")]
    connector.execute_many_fields(unrunnable, lambda _k, _s, _o, error, _v, _ms: errors.append(error))
    assert [e.split(":")[0] if e else e for e in errors] == ["TypeError", "TypeError"]
    assert connector.worker_pids() == set()


def test_sessions_do_not_share_state(sandbox: MontyConnector) -> None:
    assert sandbox.execute_code("secret = 1").success
    result = sandbox.execute_code("secret")
    assert not result.success and result.error is not None
    assert result.error.startswith("NameError")


def test_error_traceback_option(make: Callable[..., MontyConnector]) -> None:
    connector = make(error_traceback=True)
    result = connector.execute_code("def f():\n    return 1 / 0\nf()")
    assert not result.success and result.error is not None
    assert "Traceback" in result.error and "line 2" in result.error
    assert result.error.endswith("ZeroDivisionError: division by zero")


# -- escapes and limits: each fails cleanly, and the next execution works -------------------

ESCAPES = [
    pytest.param("while True:\n    pass", 0.3, "TimeoutError", "time limit", id="infinite-loop"),
    pytest.param("7 ** (10 ** 8)", 0.3, "TimeoutError", "killed", id="one-huge-operation"),
    pytest.param("[0] * 10 ** 10", None, "MemoryError", "memory limit", id="huge-list"),
    pytest.param(
        "x = []\nwhile True:\n    x.append('a' * 1000)",
        20.0,  # the memory limit is under test: leave a loaded CI machine time to reach it
        "MemoryError",
        "memory limit",
        id="growing-list",
    ),
    pytest.param(
        "def f(n):\n    return f(n + 1)\nf(0)", None, "RecursionError", "recursion", id="recursion"
    ),
    pytest.param("import time\ntime.sleep(10 ** 6)", None, "TimeoutError", "sleep", id="sleep"),
    pytest.param(
        "import time\ntry:\n    time.sleep(10 ** 6)\nexcept BaseException:\n    pass\n'caught'",
        None,
        "TimeoutError",
        "sleep",
        id="sleep-caught",
    ),
    pytest.param(
        "open('/etc/passwd').read()", None, "PermissionError", "/etc/passwd", id="open-file"
    ),
    pytest.param("import os\nos.listdir('/')", None, "PermissionError", "", id="listdir"),
    pytest.param("import os\nos.environ", None, "RuntimeError", "os.environ", id="environ"),
    pytest.param("import subprocess", None, "ModuleNotFoundError", "subprocess", id="subprocess"),
    pytest.param("import socket", None, "ModuleNotFoundError", "socket", id="socket"),
    pytest.param("import ctypes", None, "ModuleNotFoundError", "ctypes", id="ctypes"),
    pytest.param("__import__('os')", None, "NameError", "__import__", id="dunder-import"),
    pytest.param("__builtins__", None, "NameError", "__builtins__", id="builtins"),
    pytest.param(
        "().__class__.__bases__[0].__subclasses__()",
        None,
        "AttributeError",
        "__class__",
        id="dunder-chain",
    ),
    pytest.param("def f(:\n    pass", None, "SyntaxError", "", id="syntax-error"),
    pytest.param("x = ", None, "SyntaxError", "", id="incomplete"),
    pytest.param("raise KeyboardInterrupt", None, "KeyboardInterrupt", "", id="keyboardinterrupt"),
    pytest.param("raise SystemExit", None, "SystemExit", "", id="systemexit"),
]


@pytest.mark.parametrize(("code", "timeout", "error_type", "fragment"), ESCAPES)
def test_escape_fails_cleanly(
    sandbox: MontyConnector, code: str, timeout: float | None, error_type: str, fragment: str
) -> None:
    result = sandbox.execute_code(code, timeout=timeout)
    assert result.success is False
    assert result.error is not None and result.error.startswith(error_type), result.error
    assert fragment in result.error
    assert result.return_value is None
    assert result.execution_time_ms is not None
    assert_works(sandbox)


def test_escapes_async_too(sandbox: MontyConnector) -> None:
    async def go() -> list[CodeExecutionResult]:
        return list(
            await asyncio.gather(
                sandbox.aexecute_code("while True:\n    pass", timeout=0.3),
                sandbox.aexecute_code("[0] * 10 ** 10"),
                sandbox.aexecute_code("import socket"),
                sandbox.aexecute_code("x", inputs={"x": object()}),
            )
        )

    loop, memory, socket_, conversion = asyncio.run(go())
    assert not loop.success and loop.error is not None and loop.error.startswith("TimeoutError")
    assert not memory.success and memory.error is not None and "MemoryError" in memory.error
    assert not socket_.success and socket_.error is not None and "socket" in socket_.error
    assert not conversion.success and conversion.error is not None
    assert "cannot be passed into the sandbox" in conversion.error
    assert_works(sandbox)


class Unconvertible:
    pass


@pytest.mark.parametrize(
    ("inputs", "fragment"),
    [
        pytest.param({"x": object()}, "cannot be passed into the sandbox", id="object"),
        pytest.param({"x": [1, {"y": Unconvertible()}]}, "Unconvertible", id="nested"),
        pytest.param({"x": (i for i in range(3))}, "generator", id="generator"),
        pytest.param({"x": bytearray(b"ab")}, "bytearray", id="bytearray"),
        pytest.param({"1x": 1}, "valid identifiers", id="bad-name"),
        pytest.param({1: 1}, "valid identifiers", id="non-str-name"),
        pytest.param([1, 2], "inputs must be a dict", id="not-a-dict"),
        pytest.param("x=1", "inputs must be a dict", id="string"),
    ],
)
def test_bad_inputs_fail_cleanly(sandbox: MontyConnector, inputs: Any, fragment: str) -> None:
    result = sandbox.execute_code("x", inputs=inputs)
    assert result.success is False
    assert result.error is not None and result.error.startswith("TypeError"), result.error
    assert fragment in result.error
    assert_works(sandbox)


class EvilDict(dict[str, Any]):
    def __iter__(self) -> Any:
        raise RuntimeError("no iterating me")

    def items(self) -> Any:
        raise RuntimeError("no items either")


class EvilFloat(float):
    def __float__(self) -> float:
        raise RuntimeError("no float")

    def __repr__(self) -> str:
        raise RuntimeError("no repr")


@pytest.mark.parametrize(
    "inputs",
    [
        pytest.param(EvilDict(x=1), id="dict-subclass-raising"),
        pytest.param({"x": EvilDict(x=1)}, id="nested-dict-subclass-raising"),
        pytest.param({"x": EvilFloat(1.5)}, id="float-subclass-raising"),
    ],
)
def test_hostile_inputs_never_raise(sandbox: MontyConnector, inputs: Any) -> None:
    result = sandbox.execute_code("x", inputs=inputs)
    assert isinstance(result, CodeExecutionResult)
    if not result.success:
        assert result.error
    assert_works(sandbox)


def test_cyclic_input_fails_cleanly(sandbox: MontyConnector) -> None:
    cyclic: list[Any] = []
    cyclic.append(cyclic)
    result = sandbox.execute_code("x", inputs={"x": cyclic})
    assert not result.success and result.error is not None and "ircular" in result.error
    assert_works(sandbox)


@pytest.mark.parametrize("code", [None, 42, b"1 + 1", ["1 + 1"]])
def test_code_that_is_not_a_string_fails_cleanly(sandbox: MontyConnector, code: Any) -> None:
    result = sandbox.execute_code(code)
    assert not result.success
    assert result.error is not None and result.error.startswith("TypeError: code must be a str")


def test_unusual_input_values_round_trip(sandbox: MontyConnector) -> None:
    values = {
        "n": 10**40,
        "f": 1.5,
        "nan": math.nan,
        "b": b"\x00\xff",
        "none": None,
        "nested": {"k": [1, (2, 3), {4, 5}, frozenset({6})]},
        "print": "shadowed builtin",
    }
    result = sandbox.execute_code("[n, f, b, none, nested, print]", inputs=values)
    assert result.success, result.error
    assert result.return_value == [10**40, 1.5, b"\x00\xff", None, values["nested"], values["print"]]


def test_printed_output_is_capped(make: Callable[..., MontyConnector]) -> None:
    connector = make(max_output_chars=1000)
    result = connector.execute_code("for i in range(10000):\n    print('x' * 99)")
    assert not result.success
    assert result.error is not None and result.error.startswith("MemoryError")
    assert "max_output_chars=1000" in result.error
    assert result.output is not None and len(result.output) == 1000
    assert_works(connector)


# -- timeouts: validation and the cascade --------------------------------------------------


def test_the_default_kill_grace_still_stops_one_huge_operation(make: Callable[..., MontyConnector]) -> None:
    """kill_grace_secs=1.0 (the default) leaves pydantic-monty's own default backstop in charge."""
    connector = make(pool_size=1)
    assert connector.kill_grace_secs == 1.0
    result = connector.execute_code("x = 7 ** (10 ** 8)\n1", timeout=0.3)
    assert not result.success and result.error is not None
    assert result.error.startswith("TimeoutError") and "worker was killed" in result.error
    assert_works(connector)


def test_error_text_is_capped_like_output(make: Callable[..., MontyConnector]) -> None:
    connector = make(max_output_chars=1000)
    result = connector.execute_code("raise ValueError('x' * 10**6)")
    assert not result.success and result.error is not None
    assert result.error.startswith("ValueError: xxx")
    assert len(result.error) < 1200 and "error text truncated" in result.error
    assert "max_output_chars=1000" in result.error
    assert_works(connector)


@pytest.mark.parametrize("bad", [0, 0.0, -1, -0.5, math.nan, math.inf, -math.inf, "10", True, 10**400,
                                 -(10**400)])
def test_bad_timeouts_are_rejected_before_running(bad: Any) -> None:
    connector = track(MontyConnector())
    with pytest.raises(ConnectorConfigError, match="timeout"):
        connector.execute_code("1 + 1", timeout=bad)
    with pytest.raises(ConnectorConfigError, match="timeout"):
        asyncio.run(connector.aexecute_code("1 + 1", timeout=bad))
    with pytest.raises(ConnectorConfigError, match="timeout"):
        connector.execute({"code": "1 + 1", "timeout": bad})
    assert connector.worker_pids() == set()
    assert connector._runtime.pool is None  # nothing was started, let alone run


def test_timeout_above_maximum_and_bad_config_timeout_are_rejected() -> None:
    connector = track(MontyConnector())
    with pytest.raises(ConnectorConfigError, match="maximum"):
        connector.execute_code("1", timeout=1e20)
    connector.config.timeout = math.nan  # ConnectorConfig does not validate on assignment
    with pytest.raises(ConnectorConfigError, match=r"config\.timeout"):
        connector.execute_code("1")
    health = connector.check()  # a health check reports, it never raises
    assert health.status == "unhealthy" and health.error and "config.timeout" in health.error
    assert connector._runtime.pool is None


def test_timeout_cascade_resolves_call_then_config_then_default() -> None:
    assert MontyConnector().resolve_timeout() == 120.0
    configured = MontyConnector(config=ConnectorConfig(timeout=7))
    assert configured.resolve_timeout() == 7.0
    assert configured.resolve_timeout(3) == 3.0
    limits = configured.resolve_limits(3)
    assert limits.timeout_secs == 3.0
    assert limits.kill_after_secs == 3.0 + configured.kill_grace_secs
    assert limits.max_memory_bytes == 256 * 2**20
    assert limits.max_total_sleep_secs == 1.0
    assert limits.resource_limits()["max_feed_duration_secs"] == 3.0
    assert configured.resolve_limits(0.25).max_total_sleep_secs == 0.25  # sleep <= timeout


def test_timeout_cascade_is_observable_in_behaviour(make: Callable[..., MontyConnector]) -> None:
    connector = make(config=ConnectorConfig(timeout=0.3))
    by_config = connector.execute_code("while True:\n    pass")
    assert by_config.error is not None and "> 300ms" in by_config.error
    by_call = connector.execute_code("while True:\n    pass", timeout=0.2)
    assert by_call.error is not None and "> 200ms" in by_call.error
    by_request = connector.execute({"code": "while True:\n    pass", "timeout": 0.25})
    assert by_request.error is not None and "> 250ms" in by_request.error


# -- execute() / aexecute() / check() ------------------------------------------------------


def test_execute_accepts_a_request_dict(sandbox: MontyConnector) -> None:
    result = sandbox.execute({"code": "x * 2", "inputs": {"x": 21}})
    assert result.success and result.return_value == 42
    aresult = asyncio.run(sandbox.aexecute({"code": "print(x)", "inputs": {"x": 1}}))
    assert aresult.success and aresult.output == "1\n"
    failed = sandbox.execute({"code": None})
    assert not failed.success  # bad code is data: a failed result, not an exception


@pytest.mark.parametrize(
    ("request_", "match"),
    [
        ("print(1)", "must be a dict"),
        (None, "must be a dict"),
        ({"inputs": {}}, "no 'code' key"),
        ({"code": "1", "input": {"x": 1}}, "unknown key"),
    ],
)
def test_malformed_requests_raise_request_errors(
    sandbox: MontyConnector, request_: Any, match: str
) -> None:
    with pytest.raises(ConnectorRequestError, match=match):
        sandbox.execute(request_)
    with pytest.raises(ConnectorRequestError, match=match):
        asyncio.run(sandbox.aexecute(request_))


def test_health_check(sandbox: MontyConnector) -> None:
    health = sandbox.check()
    assert health.healthy and health.error is None and health.checked == "1 + 1"
    assert health.latency_ms is not None and health.latency_ms > 0
    ahealth = asyncio.run(sandbox.acheck())
    assert ahealth.status == "healthy"


# -- concurrency, pool reuse and shutdown --------------------------------------------------

CPU_BOUND = "total = 0\nfor i in range(60000):\n    total += i % 7\ntotal + n"


def test_concurrent_async_calls_use_distinct_workers(make: Callable[..., MontyConnector]) -> None:
    connector = make(pool_size=2)

    async def go() -> list[CodeExecutionResult]:
        return list(
            await asyncio.gather(
                *(connector.aexecute_code(CPU_BOUND, inputs={"n": i}) for i in range(16))
            )
        )

    results = asyncio.run(go())
    expected = sum(i % 7 for i in range(60000))
    assert all(r.success for r in results), [r.error for r in results if not r.success]
    assert [r.return_value for r in results] == [expected + i for i in range(16)]
    pids = connector.worker_pids()
    assert len(pids) == 2  # two worker processes served the calls, never more than pool_size
    assert pids <= live_monty_children()
    # A second event loop reuses the same pool.
    more = asyncio.run(go())
    assert all(r.success for r in more) and connector.worker_pids() == pids


def test_threads_share_the_pool(make: Callable[..., MontyConnector]) -> None:
    connector = make(pool_size=2)
    results: list[CodeExecutionResult] = []
    lock = threading.Lock()

    def work(i: int) -> None:
        result = connector.execute_code("n * n", inputs={"n": i})
        with lock:
            results.append(result)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.return_value for r in results) == [i * i for i in range(12)]
    assert 1 <= len(connector.worker_pids()) <= 2


def test_pool_is_reused_and_close_stops_workers(make: Callable[..., MontyConnector]) -> None:
    connector = make(pool_size=1)
    assert connector.execute_code("1").success
    pool = connector._runtime.pool
    pids = connector.worker_pids()
    assert connector.execute_code("2").success and connector._runtime.pool is pool
    connector.close()
    connector.close()  # twice is fine
    assert any_child_process(pids) == set()  # stopped and reaped, no zombie
    assert connector.worker_pids() == set()
    # A later execution starts a new pool.
    assert_works(connector)
    _USED_PIDS.update(connector.worker_pids())


def test_context_managers_close() -> None:
    with track(MontyConnector(pool_size=1)) as connector:
        assert connector.execute_code("1").success
        pids = connector.worker_pids()
    assert any_child_process(pids) == set()

    async def go() -> set[int]:
        async with track(MontyConnector(pool_size=1)) as aconnector:
            assert (await aconnector.aexecute_code("1")).success
            used = aconnector.worker_pids()
        return used

    assert any_child_process(asyncio.run(go())) == set()


def test_close_while_running_lets_the_run_finish_then_reaps(
    make: Callable[..., MontyConnector],
) -> None:
    connector = make(pool_size=1)
    started = threading.Event()
    outcome: list[CodeExecutionResult] = []

    def run() -> None:
        started.set()
        outcome.append(connector.execute_code("while True:\n    pass", timeout=0.5))

    assert connector.execute_code("1").success  # pool up, so the thread only feeds
    pids = connector.worker_pids()
    thread = threading.Thread(target=run)
    thread.start()
    started.wait()
    connector.close()
    thread.join()
    assert not outcome[0].success and outcome[0].error is not None
    assert outcome[0].error.startswith("TimeoutError")
    assert any_child_process(pids) == set()  # the last run out shut the pool down


def test_results_held_for_a_shared_wake_up_all_reach_their_loops(
    make: Callable[..., MontyConnector],
) -> None:
    """Workers hold results while jobs are queued (one loop wake-up for several);
    with two event loops in two threads feeding one pool, every result still reaches its own
    loop, in order of its inputs, and nothing is left held once the queue runs dry."""
    connector = make(pool_size=2)
    assert connector.execute_code("1").success  # pool up

    async def burst(offset: int) -> list[Any]:
        results = await asyncio.gather(
            *(connector.aexecute_code("n + 1", inputs={"n": offset + i}) for i in range(64)))
        return [r.return_value if r.success else r.error for r in results]

    answers: dict[int, list[Any]] = {}

    def in_thread(offset: int) -> None:
        answers[offset] = asyncio.run(burst(offset))

    threads = [threading.Thread(target=in_thread, args=(offset,)) for offset in (0, 1000)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)  # a hang guard only: a held result never delivered would block here
    assert not any(thread.is_alive() for thread in threads)
    assert answers == {offset: [offset + i + 1 for i in range(64)] for offset in (0, 1000)}


def test_a_slow_run_after_held_results_does_not_keep_them(
    make: Callable[..., MontyConnector],
) -> None:
    """Tiny runs queued ahead of a slow one on one worker: the tiny ones' results arrive
    before the slow one has finished (held results are settled by the next wake-up, or by the
    loop's own 1 ms timer while the worker runs the slow one)."""
    connector = make(pool_size=1)
    assert connector.execute_code("1").success

    async def go() -> tuple[list[bool], bool]:
        tiny = [asyncio.ensure_future(connector.aexecute_code("1 + 1")) for _ in range(3)]
        slow = asyncio.ensure_future(connector.aexecute_code("while True:\n    pass", timeout=1.0))
        done, _pending = await asyncio.wait(tiny, timeout=60)
        finished_first = not slow.done()
        await slow
        return [t.result().success for t in done], finished_first

    successes, before_slow = asyncio.run(go())
    assert successes == [True, True, True]
    assert before_slow  # the tiny results did not wait for the 1 s run behind them


def test_cancelled_async_call_does_not_wedge_the_pool(make: Callable[..., MontyConnector]) -> None:
    connector = make(pool_size=1)

    async def go() -> CodeExecutionResult:
        running = asyncio.create_task(connector.aexecute_code("while True:\n    pass", timeout=0.3))
        queued = asyncio.create_task(connector.aexecute_code("while True:\n    pass", timeout=0.3))
        await asyncio.sleep(0)
        running.cancel()
        queued.cancel()
        for task in (running, queued):
            with pytest.raises(asyncio.CancelledError):
                await task
        return await connector.aexecute_code("6 * 7")

    result = asyncio.run(go())
    assert result.success and result.return_value == 42


def test_forgotten_connector_is_closed_by_gc() -> None:
    connector = MontyConnector(pool_size=1)
    assert connector.execute_code("1").success
    pids = connector.worker_pids()
    assert pids <= live_monty_children()
    del connector
    gc.collect()
    assert any_child_process(pids) == set()


def test_connector_left_open_is_closed_at_exit() -> None:
    script = textwrap.dedent(
        """
        import atexit, os, weakref
        assert not weakref.finalize._registered_with_atexit
        def left_behind():
            me = str(os.getpid())
            alive = []
            for entry in os.listdir('/proc'):
                if entry.isdigit():
                    try:
                        stat = open(f'/proc/{entry}/stat').read()
                    except OSError:
                        continue
                    state, ppid = stat[stat.rfind(')') + 2:].split()[:2]
                    if ppid == me and 'monty' in stat and state != 'Z':
                        alive.append(int(entry))
            print('LEFT', alive)
        atexit.register(left_behind)  # runs after the connectors' exit finalizers
        from connector_kit.connectors.code_interpreter import MontyConnector
        c = MontyConnector(pool_size=2)
        assert c.execute_code('1').success
        print('USED', sorted(c.worker_pids()))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "USED [" in done.stdout
    assert "LEFT []" in done.stdout


def test_copies_and_pickles_get_their_own_pool(make: Callable[..., MontyConnector]) -> None:
    original = make(pool_size=1)
    assert original.execute_code("1").success
    for clone in (
        copy.copy(original),
        copy.deepcopy(original),
        original.model_copy(),
        pickle.loads(pickle.dumps(original)),
    ):
        track(clone)
        assert clone.pool_size == 1 and clone._runtime is not original._runtime
        assert clone.worker_pids() == set()
        assert_works(clone)
        close_tracked(clone)
    assert_works(original)


def test_worker_killed_from_outside_is_replaced(make: Callable[..., MontyConnector]) -> None:
    connector = make(pool_size=1)
    assert connector.execute_code("1").success
    (victim,) = connector.worker_pids()
    os.kill(victim, signal.SIGKILL)
    # The pool notices the dead worker and serves the next execution from a new one;
    # at worst one execution reports the crash.
    results = [connector.execute_code("6 * 7") for _ in range(2)]
    assert results[-1].success and results[-1].return_value == 42
    for result in results:
        assert result.success or (result.error or "").startswith("MontyCrashedError")
    assert any_child_process({victim}) == set()


# -- packaging -----------------------------------------------------------------------------


def test_import_does_not_load_pydantic_monty() -> None:
    script = (
        "import sys\n"
        "import connector_kit.connectors\n"
        "import connector_kit.connectors.code_interpreter as ci\n"
        "from connector_kit.connectors import ConnectorRegistry\n"
        "assert ConnectorRegistry.get('monty') is ci.MontyConnector\n"
        "print('pydantic_monty' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_missing_worker_binary_raises_setup_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONTY_BIN", "/nonexistent/monty")
    connector = MontyConnector()
    with pytest.raises(CodeExecutionSetupError, match="could not start the monty worker pool"):
        connector.execute_code("1 + 1")
    health = connector.check()
    assert health.status == "unhealthy" and health.error and "/nonexistent/monty" in health.error


def test_missing_pydantic_monty_raises_setup_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pydantic_monty", None)  # makes the import fail
    connector = MontyConnector()
    with pytest.raises(CodeExecutionSetupError, match=r"pip install 'connector-kit\[code\]'"):
        connector.execute_code("1 + 1")
    health = connector.check()
    assert health.status == "unhealthy" and health.error and "connector-kit[code]" in health.error
    assert isinstance(connector, BaseCodeInterpreterConnector)


def test_missing_opentelemetry_is_cached_for_the_per_run_import(
    make: Callable[..., MontyConnector],
) -> None:
    """pydantic-monty imports ``opentelemetry.context`` on every run; without OpenTelemetry
    the connector caches the miss for the package and that submodule (the fast failure)."""
    import importlib.util

    if "opentelemetry" not in sys.modules and importlib.util.find_spec("opentelemetry") is not None:
        pytest.skip("OpenTelemetry is installed here: nothing to cache")
    assert make(pool_size=1).execute_code("1 + 1").return_value == 2
    if sys.modules.get("opentelemetry", "absent") is not None:
        pytest.skip("OpenTelemetry was imported by another test in this process")
    assert sys.modules.get("opentelemetry.context", "absent") is None
    with pytest.raises(ImportError):
        import opentelemetry.context  # noqa: F401


def test_benchmark_quick_smoke() -> None:
    from benchmarks.monty import run

    report = run(quick=True)
    assert report.name == "monty" and report.rows and report.series and report.notes
    keys = set(report.rows[0])
    assert all(set(row) == keys for row in report.rows)
    variants = [row["variant"] for row in report.rows]
    assert "MontyConnector.execute_code (warm)" in variants
    assert {f"MontyConnector.aexecute_code x{c}" for c in (1, 2, 8, 32)} <= set(variants)
    assert any("subprocess" in v for v in variants)
    assert all(row["median_ms"] > 0 for row in report.rows if row["median_ms"] is not None)
    ratios = [row for row in report.rows if row["ratio"] is not None]
    assert any("PythonInterpreterBlock" in row["variant"] for row in ratios)
    assert any(row["variant"].startswith("MontyConnector.aexecute_code x8") for row in ratios)
    assert all(row["ratio"] > 0 and row["divided_by"] for row in ratios)  # each names its divisor


# -- last: nothing left behind -------------------------------------------------------------


def test_zz_no_worker_process_left_behind() -> None:
    last = track(MontyConnector(pool_size=1))
    assert last.execute_code("1").success  # so there is always something to check
    for connector in _CREATED:
        close_tracked(connector)
    gc.collect()
    assert _USED_PIDS
    assert any_child_process(_USED_PIDS) == set()
    assert live_monty_children() <= _BASELINE
