"""Work on every core: a list cut into contiguous shards, the first run in this process, the others in forked children.

kubeconform checks documents on `-n` workers; threads would not do that here, since Python runs one
thread at a time. The children are forked, not started afresh: each begins with this process's memory
as it stands (copy-on-write), so the bundle, the schemas and the rules are neither copied nor pickled
to them, and they import nothing. Only their results come back, pickled through a pipe.

The results are exactly those of `work(items)` run here: the shards are contiguous and their results
come back in order. A child that fails in any way (an exception, a crash, a signal, a result that does
not unpickle) costs time, never a verdict: its shard runs again in this process, where an error shows
as it would have without children.

Nothing is forked where it is unsafe or does not pay: without `os.fork` (Windows), while other
threads run (a child would inherit their locks held, by no thread of its own), for one job, or for
fewer than `min_shard` items per extra shard.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


# The default number of jobs stops here: past it, each extra worker saves less than it costs in start-up
# and copied pages, and a container whose CPU quota is lower than the cores it sees would only queue them.
MAX_DEFAULT_JOBS = 8


def available_cores() -> int:
    """The cores this process may run on (a container's CPU set, not the whole machine's), at most
    `MAX_DEFAULT_JOBS`: the default of `raygitops validate --jobs`."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS has no affinity call
        cores = os.cpu_count() or 1
    return min(cores, MAX_DEFAULT_JOBS)


def shard_bounds(count: int, jobs: int, min_shard: int) -> list[tuple[int, int]]:
    """[start, end) of each contiguous shard: at most `jobs`, none smaller than `min_shard` (but the only one)."""
    shards = max(1, min(jobs, count // max(1, min_shard)))
    return [(count * i // shards, count * (i + 1) // shards) for i in range(shards)]


# Below this many documents per extra shard, a forked child costs more than it saves.
MIN_SHARD = 100


def map_shards(
    items: Sequence[T], work: Callable[[Sequence[T]], R], *, jobs: int, min_shard: int = MIN_SHARD
) -> list[R]:
    """`work` of each shard of `items`, in order; shards after the first run in forked children when `jobs` > 1.

    Without children, `work` runs once, on all of `items`.
    """
    bounds = shard_bounds(len(items), jobs, min_shard)
    if len(bounds) == 1 or not can_fork():
        return [work(items)]
    children = [_fork(work, items[start:end]) for start, end in bounds[1:]]
    try:
        start, end = bounds[0]
        results = [work(items[start:end])]
        for child, (start, end) in zip(children, bounds[1:], strict=True):
            outcome = child.collect()
            results.append(outcome.value if outcome is not None else work(items[start:end]))
        return results
    finally:
        for child in children:
            child.abandon()


def can_fork() -> bool:
    return hasattr(os, "fork") and threading.active_count() == 1


@dataclass
class _Outcome(Generic[R]):
    value: R


class _Child(Generic[R]):
    """A forked child running one shard; its pickled result arrives on `read_end`."""

    def __init__(self, pid: int, read_end: int) -> None:
        self.pid = pid
        self.read_end = read_end
        self.reaped = False

    def collect(self) -> _Outcome[R] | None:
        """The child's result, or None when it failed (its shard is then run again here)."""
        with os.fdopen(self.read_end, "rb") as pipe:
            self.read_end = -1
            data = pipe.read()
        _, status = os.waitpid(self.pid, 0)
        self.reaped = True
        if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
            return None
        try:
            return _Outcome(pickle.loads(data))
        except Exception:  # a truncated or damaged result: run the shard here instead
            return None

    def abandon(self) -> None:
        """Stop and reap a child whose result is no longer wanted (this process failed or was interrupted)."""
        if self.read_end >= 0:
            os.close(self.read_end)
            self.read_end = -1
        if not self.reaped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            self.reaped = True


def _fork(work: Callable[[Sequence[T]], R], shard: Sequence[T]) -> _Child[R]:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: run the shard, write the result, and leave without running any exit handler
        status = 1
        try:
            os.close(read_end)
            # Short-lived, and a collection would walk (and so copy) every page it shares with the parent.
            gc.disable()
            data = pickle.dumps(work(shard), protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(write_end, "wb") as pipe:
                pipe.write(data)
            status = 0
        except BaseException:  # any failure: the exit status says so, and the shard runs again here
            pass
        finally:
            os._exit(status)
    os.close(write_end)
    return _Child(pid, read_end)
