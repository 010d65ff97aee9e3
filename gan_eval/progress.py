"""One progress protocol for every long computation, and one rate / time-left estimate.

A long function takes ``progress: Progress | None`` and calls ``progress(done, total, stage)``:
``done`` items of ``total`` (None when not known yet) in the named ``stage`` ("embedding good",
"scoring"). The CLI's text bar, the app's background jobs and the GAN page all read rates and
times left from ``Rate``, so the three fronts agree on what "~40 s left" means.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

Progress = Callable[[int, "int | None", str], None]


@dataclass
class Rate:
    """Items per second since ``started``, and the seconds left for ``total`` items at that pace."""

    started: float = field(default_factory=time.monotonic)

    def per_second(self, done: int, now: float | None = None) -> float | None:
        elapsed = (time.monotonic() if now is None else now) - self.started
        return done / elapsed if done and elapsed > 0 else None

    def seconds_left(self, done: int, total: int | None, now: float | None = None) -> float | None:
        rate = self.per_second(done, now)
        return None if rate is None or total is None else max(total - done, 0) / rate


def describe(stage: str, done: int, total: int | None, rate: float | None, seconds_left: float | None) -> str:
    """``stage · done/total · rate/s · ~time left``: how every front words progress."""
    parts = [stage]
    if total:
        parts.append(f"{done}/{total}")
    if rate:
        parts.append(f"{rate:.1f}/s")
    if seconds_left is not None:
        parts.append(f"~{format_duration(seconds_left)} left")
    return " · ".join(parts)


def format_duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"
