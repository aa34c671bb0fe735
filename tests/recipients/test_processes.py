"""The import's worker processes: results by ticket, a dead child is an error, shutdown is bounded."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from functools import partial

import pytest

from breachcomms.recipients import processes
from breachcomms.recipients.processes import ProcessDied, Processes
from tests.services import ROOT, wait_for


def _add_offset(value: int, offset: int = 0) -> int:
    return value + offset


def _big(size: int) -> bytes:
    return b"x" * size


def _fail(value: int) -> int:
    raise ValueError(f"cannot take {value}")


def _die(value: int) -> int:
    os._exit(3)


def _sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it has ended all the same.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(") ", 1)[1][0] != "Z"


def test_each_ticket_gets_its_own_result_whatever_order_they_are_asked_in() -> None:
    with Processes(2, partial(_add_offset, offset=1000)) as pool:
        tickets = [pool.submit(n) for n in range(50)]
        got = [ticket.get() for ticket in reversed(tickets)]
    assert got == [1000 + n for n in reversed(range(50))]


def test_results_far_bigger_than_a_pipe_do_not_deadlock_the_parent() -> None:
    # Many big results owed at once: each child blocks writing one while the parent keeps
    # sending it work; the child's reader thread must keep taking it.
    with Processes(2, _big) as pool:
        tickets = [pool.submit(4 * 1024 * 1024) for _ in range(8)]
        assert [len(ticket.get()) for ticket in tickets] == [4 * 1024 * 1024] * 8


def test_an_exception_in_a_child_is_raised_by_its_ticket_and_the_others_still_work() -> None:
    with Processes(2, _fail) as pool:
        ticket = pool.submit(7)
        with pytest.raises(ValueError, match="cannot take 7"):
            ticket.get()
    with Processes(1, _add_offset) as pool:
        assert pool.submit(1).get() == 1


def test_a_child_that_dies_is_an_error_not_a_wait() -> None:
    with Processes(1, _die) as pool:
        ticket = pool.submit(1)
        with pytest.raises(ProcessDied, match="exit code 3"):
            ticket.get()


def test_work_for_a_child_that_died_is_an_error_too() -> None:
    with Processes(1, _add_offset) as pool:
        pool._children[0].process.kill()
        pool._children[0].process.join()
        with pytest.raises(ProcessDied, match="exit code -9"):
            pool.submit(1).get()


def test_close_ends_children_that_owe_results_nobody_read_without_killing_them() -> None:
    # An import that stops early (a broken file) leaves big results unread in the pipes.
    pool = Processes(2, _big)
    for _ in range(6):
        pool.submit(4 * 1024 * 1024)
    children = [child.process for child in pool._children]
    pool.close()
    assert [process.exitcode for process in children] == [0, 0]


def test_close_kills_a_child_that_does_not_stop_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(processes, "STOP_SECONDS", 0.5)
    pool = Processes(2, _sleep)
    pool.submit(600.0)
    pids = [child.process.pid for child in pool._children]
    pool.close()
    assert pids
    assert not any(_alive(pid) for pid in pids if pid is not None)


def test_children_end_when_their_parent_is_killed() -> None:
    script = textwrap.dedent(
        """
        import sys, time
        from tests.recipients.test_processes import _sleep
        from breachcomms.recipients.processes import Processes
        pool = Processes(2, _sleep)
        pool.submit(600.0)
        print(" ".join(str(child.process.pid) for child in pool._children), flush=True)
        time.sleep(600)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        pids = [int(pid) for pid in parent.stdout.readline().split()]
        assert len(pids) == 2
        assert all(_alive(pid) for pid in pids)
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        wait_for(lambda: not any(_alive(pid) for pid in pids), 30, "the children outlived their parent")
    finally:
        parent.kill()
        parent.wait()
