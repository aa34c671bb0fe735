"""A few forked processes that run one function on an import's chunks, with a bounded shutdown.

The import used ``multiprocessing.Pool`` before. Inside a Celery prefork worker its ``terminate()``
once hung for the whole task time limit after every chunk had been read (CI, November 2026): a
pool's shutdown waits on a lock it shares with its processes and on three helper threads, and a
pool whose process dies loses that task's result for ever. Here:

- each process has two pipes of its own (tasks in, results out); the parent holds no lock a child
  could hold and starts no thread, so forking is safe;
- a child reads its tasks and writes its results on threads of its own, so the parent's ``send``
  never waits for a chunk to be done (no deadlock on a full pipe) and a child never waits for the
  parent to want its result; it ends at once when the parent is gone (its task pipe ends);
- a child that dies is an error at the next result (``ProcessDied``), not a wait for ever;
- ``close()`` asks each child to stop, waits a few seconds, then kills what is left.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import pickle
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from multiprocessing.reduction import ForkingPickler
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# What the parent sends a child to make it stop (a pickled task is never this short).
_STOP = b"stop"
# How long close() waits for the children to stop before it kills them.
STOP_SECONDS = 5.0


class ProcessDied(RuntimeError):
    """A child process ended while it owed results."""


@dataclass
class _Child:
    process: BaseProcess
    tasks: Connection  # parent → child
    results: Connection  # child → parent
    owed: deque[int] = field(default_factory=deque)  # tickets sent, in order, whose result is not read


class Processes(Generic[T, R]):
    """``processes`` forked children running ``function`` on what is submitted.

    Forked, so ``function`` is never pickled: a closure or a ``partial`` carries what every call needs.
    """

    def __init__(self, processes: int, function: Callable[[T], R]) -> None:
        context = multiprocessing.get_context("fork")
        self._children: list[_Child] = []
        self._done: dict[int, tuple[R | None, BaseException | None]] = {}
        self._tickets = itertools.count()
        try:
            with _may_start_processes():
                for _ in range(processes):
                    child_tasks, tasks = context.Pipe(duplex=False)
                    results, child_results = context.Pipe(duplex=False)
                    # The child closes the parent's ends, its own and its elder siblings', so that
                    # only the parent holds each task pipe: its end of file means the parent is gone.
                    parent_ends = [end for child in self._children for end in (child.tasks, child.results)]
                    parent_ends += [tasks, results]
                    process = context.Process(
                        target=_serve,
                        args=(function, child_tasks, child_results, parent_ends),
                        daemon=True,
                    )
                    process.start()
                    child_tasks.close()
                    child_results.close()
                    self._children.append(_Child(process, tasks, results))
        except BaseException:
            self.close()
            raise

    def submit(self, item: T) -> Ticket[R]:
        """Send ``item`` to the child that owes the fewest results; its result comes by the ticket."""
        child = min(self._children, key=lambda c: len(c.owed))
        ticket = next(self._tickets)
        try:
            child.tasks.send((ticket, item))
        except OSError as exc:  # its reader is gone, and so is the child
            raise self._died(child) from exc
        child.owed.append(ticket)
        return Ticket(self, child, ticket)

    def _result(self, child: _Child, ticket: int) -> R:
        while ticket not in self._done:
            try:
                number, value, error = child.results.recv()
            except (EOFError, OSError) as exc:
                raise self._died(child) from exc
            child.owed.popleft()
            self._done[number] = (value, error)
        value, error = self._done.pop(ticket)
        if error is not None:
            raise error
        return value  # type: ignore[return-value]

    @staticmethod
    def _died(child: _Child) -> ProcessDied:
        child.process.join(1)
        return ProcessDied(f"an import process (pid {child.process.pid}) ended with exit code {child.process.exitcode}")

    def close(self) -> None:
        """Stop every child: ask, wait up to STOP_SECONDS in all, then kill the rest."""
        for child in self._children:
            child.results.close()  # results nobody will read: the child's writer stops at once
            with suppress(OSError):  # already gone
                child.tasks.send_bytes(_STOP)
        deadline = time.monotonic() + STOP_SECONDS
        for child in self._children:
            child.process.join(max(0.0, deadline - time.monotonic()))
        for child in self._children:
            if child.process.exitcode is None:
                child.process.kill()
                child.process.join()
            child.tasks.close()
        self._children.clear()

    def __enter__(self) -> Processes[T, R]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@dataclass
class Ticket(Generic[R]):
    """A submitted item's result, read from its child when asked for (in any order)."""

    owner: Processes[Any, R]
    child: _Child
    number: int

    def get(self) -> R:
        return self.owner._result(self.child, self.number)


def _serve(
    function: Callable[[Any], Any],
    tasks: Connection,
    results: Connection,
    parent_ends: list[Connection],
) -> None:
    """A child's life: read tasks and write results on threads of their own, so the work never waits."""
    for end in parent_ends:
        end.close()
    inbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
    outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
    threading.Thread(target=_read_tasks, args=(tasks, inbox), daemon=True).start()
    writer = threading.Thread(target=_write_results, args=(results, outbox), daemon=True)
    writer.start()
    while (task := inbox.get()) is not None:
        number, item = ForkingPickler.loads(task)
        try:
            outcome: tuple[int, Any, BaseException | None] = (number, function(item), None)
        except Exception as exc:  # noqa: BLE001 - handed to the parent, which raises it
            outcome = (number, None, exc)
        try:
            outbox.put(bytes(ForkingPickler.dumps(outcome)))
        except (TypeError, AttributeError, pickle.PicklingError):  # an exception that cannot be pickled
            outbox.put(bytes(ForkingPickler.dumps((number, None, RuntimeError(repr(outcome[2]))))))
    outbox.put(None)
    writer.join()


def _read_tasks(tasks: Connection, inbox: queue.SimpleQueue[bytes | None]) -> None:
    try:
        while (task := tasks.recv_bytes()) != _STOP:
            inbox.put(task)
    except (EOFError, OSError):
        os._exit(1)  # the parent is gone (killed, say): never linger
    inbox.put(None)


def _write_results(results: Connection, outbox: queue.SimpleQueue[bytes | None]) -> None:
    try:
        while (payload := outbox.get()) is not None:
            results.send_bytes(payload)
    except OSError:
        pass  # the parent closed its end: it wants no more results


@contextmanager
def _may_start_processes() -> Iterator[None]:
    """Let a daemonic process (a Celery prefork worker) start children.

    multiprocessing forbids it because a daemon's children could outlive it; these children end
    with ``close()``, or on their own when the parent is gone (their task pipe ends).
    """
    config = getattr(multiprocessing.current_process(), "_config", {})
    daemon = config.get("daemon")
    config["daemon"] = False
    try:
        yield
    finally:
        config["daemon"] = daemon
