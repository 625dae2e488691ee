"""Process helpers of the local target: identity by start time, stop, start-up failure reporting."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from helixflow.components.processes import (
    ProcessError,
    is_running,
    log_tail,
    start_process,
    start_ticks,
    stop_process,
    wait_until,
)

pytestmark = pytest.mark.unit


def test_started_process_is_identified_by_pid_and_start_time(tmp_path: Path) -> None:
    log = tmp_path / "sleeper.log"
    pid = start_process([sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)"], log)
    started = start_ticks(pid)
    try:
        assert is_running(pid, started)
        assert not is_running(pid, (started or 0) + 1)  # same pid, another process: not ours
        deadline = time.monotonic() + 10
        while "up" not in log_tail(log) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert log_tail(log).endswith("up")  # the process's output goes to its log
    finally:
        stop_process(pid, started, timeout=5)
    assert not is_running(pid, started)


def test_stop_escalates_to_sigkill(tmp_path: Path) -> None:
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
    pid = start_process([sys.executable, "-c", code], tmp_path / "stubborn.log")
    started = start_ticks(pid)
    time.sleep(0.3)  # let it install its handler
    begun = time.monotonic()
    stop_process(pid, started, timeout=1)
    assert not is_running(pid, started)
    assert time.monotonic() - begun < 5


def test_wait_until_reports_an_early_exit_with_the_current_log(tmp_path: Path) -> None:
    log = tmp_path / "crash.log"
    log.write_text("an old run's line\n")
    pid = start_process([sys.executable, "-c", "import sys; print('bad config'); sys.exit(3)"], log)
    with pytest.raises(ProcessError) as err:
        wait_until(lambda: False, pid=pid, started=start_ticks(pid), log_file=log, what="crasher", timeout=10)
    message = str(err.value)
    assert "crasher exited during start-up (exit code 3)" in message
    assert "bad config" in message and "an old run's line" not in message


def test_wait_until_times_out(tmp_path: Path) -> None:
    pid = start_process([sys.executable, "-c", "import time; time.sleep(30)"], tmp_path / "slow.log")
    started = start_ticks(pid)
    try:
        with pytest.raises(ProcessError, match="not healthy after 1s"):
            wait_until(lambda: False, pid=pid, started=started, log_file=tmp_path / "slow.log", what="slow", timeout=1)
    finally:
        stop_process(pid, started)
