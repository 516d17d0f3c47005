"""Judging in worker processes while this process reads and folds (`podgate audit --jobs N`).

Python judges on one core at a time; an audit of a large dump spends most of its time in `evaluate`.
So the objects are sent, in batches, to N worker processes forked after the policy sets were loaded
(their pages are shared, nothing is re-loaded or pickled but the objects), while this process goes on
reading the input; each worker sends back compact verdicts (findings as tuples of strings).

Order and results are those of the serial path: batch k goes to worker k mod N, which judges one batch
at a time while it receives the next (AHEAD batches in flight per worker), and batches are collected in
the order they were sent. Namespace labels travel with each
object as they were known when it was read. Small inputs never start a worker: the first
`SERIAL_FIRST` objects are judged here, and workers are forked only if more follow.

A worker ignores Ctrl-C (the terminal sends SIGINT to the whole process group): this process gets the
KeyboardInterrupt and stops the workers; they also stop when their pipe closes, so none outlives the
audit. A worker that dies or fails is reported as an `AuditWorkerError` naming what happened.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import multiprocessing
import os
import queue
import signal
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from itertools import islice
from multiprocessing.connection import Connection
from typing import Any

from ..policy import PolicySet
from .run import RawFinding, Subject, Verdict, judge, judge_serially, settle
from .split import DeferredItem, SplitUnsound

SERIAL_FIRST = 256  # objects judged in this process before any worker is started
BATCH = 48  # objects per message: large enough to amortise a round trip, small enough to keep memory flat
AHEAD = 2  # batches in flight per worker: one being judged, one waiting, so a worker never idles


class AuditWorkerError(RuntimeError):
    """A judging worker died or raised; the message says which and why."""


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def default_jobs() -> int:
    """What the machine offers; 1 where forking is unavailable or unsafe (other threads running)."""
    if "fork" not in multiprocessing.get_all_start_methods() or threading.active_count() > 1:
        return 1
    return available_cores()


def judge_in_workers(
    subjects: Iterable[Subject], policies: PolicySet, old_policies: PolicySet | None, jobs: int
) -> Iterator[tuple[Subject, Verdict | None]]:
    """(subject, verdict) for every subject, in order, judged by `jobs` worker processes.

    A subject read as text (a `DeferredItem`) is parsed by the worker, which sends back what the intake
    takes from an object (see `settle`); its verdict is None when it is not a pod-bearing kind.
    """
    pending = iter(subjects)
    yield from judge_serially(islice(pending, SERIAL_FIRST), policies, old_policies)
    batch = list(islice(pending, BATCH))
    if not batch:
        return
    if threading.active_count() > 1:  # forking beside other threads can deadlock the child: stay serial
        yield from judge_serially(itertools.chain(batch, pending), policies, old_policies)
        return
    workers = _Workers(policies, old_policies, jobs)
    try:
        in_flight: deque[tuple[_Worker, list[Subject]]] = deque()
        sent = 0
        while batch:
            worker = workers.pool[sent % len(workers.pool)]
            if len(in_flight) == AHEAD * len(workers.pool):  # the oldest is this worker's, AHEAD ago
                yield from _collect(*in_flight.popleft())
            worker.send(batch)
            in_flight.append((worker, batch))
            sent += 1
            batch = list(islice(pending, BATCH))  # read on while the workers judge
        while in_flight:
            yield from _collect(*in_flight.popleft())
    finally:
        workers.stop()


def _collect(worker: _Worker, batch: list[Subject]) -> Iterator[tuple[Subject, Verdict | None]]:
    verdicts = worker.receive()
    if len(verdicts) != len(batch):
        raise AuditWorkerError(f"{worker.name} answered {len(verdicts)} verdicts for {len(batch)} objects")
    for subject, (findings, before, outcomes, notes, settled) in zip(batch, verdicts, strict=True):
        if settled is not None:  # a deferred item, parsed by the worker
            kind, subject.line, judged, identity = settled
            subject.kind = kind
            if not judged:
                yield subject, None
                continue
            subject.namespace, subject.name, subject.uid, subject.owner = identity
        yield subject, Verdict(findings, before, outcomes, notes)


class _Worker:
    def __init__(
        self, index: int, policies: PolicySet, old_policies: PolicySet | None, siblings: list[_Worker]
    ) -> None:
        context = multiprocessing.get_context("fork")
        self.name = f"audit worker {index}"
        # One pipe each way: the worker receives on a thread while it judges and sends, so neither side
        # can block the other with a full pipe.
        batches, self.batches = context.Pipe(duplex=False)
        self.verdicts, verdicts = context.Pipe(duplex=False)
        # The child must not hold this process's ends (its own, its elder siblings'): a pipe whose
        # parent end is closed (this process exited or was killed) must end the worker's recv().
        inherited = [self.batches, self.verdicts, *(e for w in siblings for e in (w.batches, w.verdicts))]
        # Forked: the policy sets are inherited in memory (never pickled), and their pages shared.
        self.process = context.Process(
            target=_serve,
            args=(batches, verdicts, inherited, policies, old_policies),
            name=self.name,
            daemon=True,
        )
        self.process.start()
        batches.close()
        verdicts.close()

    def send(self, batch: list[Subject]) -> None:
        payload = [(s.object, s.namespace_labels) for s in batch]
        for s in batch:
            s.object = None  # the report keeps only the subject's identity
        try:
            self.batches.send(payload)
        except (BrokenPipeError, ConnectionResetError):
            raise AuditWorkerError(self._died()) from None

    def receive(self) -> list[Any]:
        try:
            status, value = self.verdicts.recv()
        except (EOFError, ConnectionResetError):
            raise AuditWorkerError(self._died()) from None
        if status == "unsound":
            raise SplitUnsound(value)
        if status == "error":
            raise AuditWorkerError(f"{self.name} failed: {value}")
        return list(value)

    def _died(self) -> str:
        self.process.join(timeout=1)
        code = self.process.exitcode
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        return f"{self.name} (pid {self.process.pid}) died ({how}); the audit is incomplete"


class _Workers:
    def __init__(self, policies: PolicySet, old_policies: PolicySet | None, jobs: int) -> None:
        self.pool: list[_Worker] = []
        gc.freeze()  # what exists now is shared: keep the collector from touching (copying) its pages
        # Ctrl-C is held back while forking: a worker starts with it blocked and ignores it before
        # unblocking it, and this process gets it (pending) once the workers are started.
        held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            try:
                for index in range(jobs):
                    self.pool.append(_Worker(index, policies, old_policies, self.pool))
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, held)  # a held Ctrl-C is raised here
                gc.unfreeze()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        for worker in self.pool:
            with contextlib.suppress(OSError):  # it may be gone already
                worker.batches.send(None)  # done: the worker exits
            worker.batches.close()
            worker.verdicts.close()
        for worker in self.pool:
            worker.process.join(timeout=5)
            if worker.process.is_alive():
                worker.process.terminate()
                worker.process.join()
            worker.process.close()
        self.pool.clear()


def _serve(
    batches: Connection,
    verdicts: Connection,
    inherited: list[Connection],
    policies: PolicySet,
    old_policies: PolicySet | None,
) -> None:
    """A worker: judge batches until told to stop or the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops us
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked since the fork
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    for end in inherited:
        end.close()
    waiting: queue.Queue[Any] = queue.Queue()  # bounded by the parent: at most AHEAD batches

    def receive() -> None:
        while True:
            try:
                batch = batches.recv()
            except (EOFError, OSError):
                batch = None
            waiting.put(batch)
            if batch is None:
                return

    threading.Thread(target=receive, name="podgate-audit-receive", daemon=True).start()
    while (batch := waiting.get()) is not None:
        try:
            verdicts.send(("ok", _judge_batch(batch, policies, old_policies)))
        except (BrokenPipeError, OSError):
            return
        except SplitUnsound as exc:  # the parent reads the sources again, serially
            verdicts.send(("unsound", str(exc)))
            return
        except Exception as exc:  # reported by the parent, with what it was
            verdicts.send(("error", f"{type(exc).__name__}: {exc}"))
            return


def _judge_batch(
    batch: list[tuple[Any, Any]], policies: PolicySet, old_policies: PolicySet | None
) -> list[tuple[Any, ...]]:
    # Identical findings (pods of one template) become one object, which pickle sends once per batch.
    same: dict[RawFinding, RawFinding] = {}
    out: list[tuple[Any, ...]] = []
    for obj, labels in batch:
        subject = Subject("", "", "", "", "", "", None, None, obj, labels)
        settled = None
        if type(obj) is DeferredItem:
            judged = settle(subject)
            identity = (subject.namespace, subject.name, subject.uid, subject.owner)
            settled = (subject.kind, subject.line, judged, identity)
            if not judged:
                out.append(((), None, (), (), settled))
                continue
        verdict = judge(subject, policies, old_policies)
        findings = tuple([same.setdefault(f, f) for f in verdict.findings])
        before = None if verdict.before is None else tuple([same.setdefault(f, f) for f in verdict.before])
        out.append((findings, before, verdict.outcomes, verdict.notes, settled))
    return out
