"""Background jobs with progress, for long work the app must not block on (demo build, embedding).

A job runs a function in a daemon thread. The function receives a ``gan_eval.progress.Progress``
callback; the job turns those calls into rate and time-left estimates (``progress.Rate``) that
any page can read.
Nothing is lost when the process dies: jobs only ever write through the content-addressed caches.
"""

from __future__ import annotations

import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Callable

from .progress import Progress, Rate, describe


@dataclass
class JobStatus:
    name: str
    stage: str = ""
    done: int = 0
    total: int | None = None
    started: float = field(default_factory=time.time)
    stage_rate: Rate = field(default_factory=Rate)  # restarted with each stage
    finished: float | None = None
    error: str | None = None

    @property
    def running(self) -> bool:
        return self.finished is None

    @property
    def rate(self) -> float | None:
        """Items per second in the current stage."""
        return self.stage_rate.per_second(self.done)

    @property
    def seconds_left(self) -> float | None:
        return self.stage_rate.seconds_left(self.done, self.total)

    @property
    def fraction(self) -> float:
        return min(self.done / self.total, 1.0) if self.total else 0.0

    def describe(self) -> str:
        return describe(self.stage or self.name, self.done, self.total, self.rate,
                        self.seconds_left if self.running else None)


class Job:
    def __init__(self, name: str, work: Callable[[Progress], object]):
        self.status = JobStatus(name)
        self.result: object = None
        self._work = work
        self._thread = threading.Thread(target=self._run, name=f"gan_eval-job-{name}", daemon=True)
        self._thread.start()

    def _report(self, done: int, total: int | None, stage: str = "") -> None:
        if stage and stage != self.status.stage:
            self.status.stage, self.status.stage_rate = stage, Rate()
        self.status.done, self.status.total = done, total

    def _run(self) -> None:
        try:
            self.result = self._work(self._report)
        except Exception as exc:  # surfaced to the page as a message, with the trace kept for logs
            self.status.error = f"{type(exc).__name__}: {exc}"
            traceback.print_exc()
        finally:
            self.status.finished = time.time()

    def wait(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)


class JobBoard:
    """At most one running job per key (e.g. per workspace), started on demand."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def start(self, key: str, name: str, work: Callable) -> Job:
        with self._lock:
            job = self._jobs.get(key)
            if job is None or not job.status.running:
                job = self._jobs[key] = Job(name, work)
            return job
