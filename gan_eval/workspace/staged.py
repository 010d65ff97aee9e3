"""An evaluation that shows rows early: one overall progress across every set, the demo built
set by set, and each submission scored as soon as it is embedded (provisional until all are)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


from ..embedding_set import EmbeddingSet
from ..progress import Progress
from .demo import DEMO_BUILD_STAGE, demo_counts, demo_lock, missing_sets
from .folder import REAL, Workspace
from .service import is_demo


# ----------------------------------------------------------- one progress across every set

class OverallProgress:
    """One bar across every set of an evaluation: the ``progress(done, total, stage)`` calls of
    its stages (building the demo, embedding each set) summed into cases done of all cases, with
    a rate and time left over the cases actually computed (a set found whole in the cache
    arrives in one call and counts as done, not as speed). Forwards each call to ``forward``.

    ``totals`` names the counted stages and their sizes (``evaluation_totals``); other stages
    ("scoring") only show as the current activity."""

    def __init__(self, totals: dict[str, int], forward: Progress | None = None):
        import time

        self._clock = time.monotonic
        self.totals = dict(totals)
        self.forward = forward
        self.done: dict[str, int] = {}
        self.activity = ""
        self._computed = 0
        self._skipped = 0
        self._started: float | None = None

    def __call__(self, done: int, total: int | None, stage: str = "") -> None:
        self.activity = stage
        if stage in self.totals:
            before = self.done.get(stage)
            done = min(int(done), self.totals[stage])
            if before is None and done >= self.totals[stage]:
                self._skipped += done          # whole set from the cache
            else:
                if self._started is None:
                    self._started = self._clock()
                self._computed += max(done - (before or 0), 0)
            self.done[stage] = max(done, before or 0)
        if self.forward:
            self.forward(done, total, stage)

    @property
    def total(self) -> int:
        return sum(self.totals.values())

    @property
    def completed(self) -> int:
        return sum(self.done.values())

    @property
    def fraction(self) -> float:
        return min(self.completed / self.total, 1.0) if self.total else 0.0

    @property
    def computing(self) -> bool:
        """Whether real work has started (something not found in the cache)."""
        return self._started is not None

    def seconds_left(self) -> float | None:
        if self._started is None or not self._computed:
            return None
        elapsed = self._clock() - self._started
        return max(self.total - self.completed, 0) * elapsed / self._computed if elapsed > 0 else None

    def describe(self) -> str:
        from ..progress import format_duration

        left = self.seconds_left()
        text = f"{self.completed:,} of {self.total:,} case steps ({self.fraction:.0%})"
        if left is not None:
            text += f" · ~{format_duration(left)} left"
        return text + (f" · now: {self.activity}" if self.activity else "")


def evaluation_totals(ws: Workspace, demo_options: dict | None = None) -> dict[str, int]:
    """The stages of an evaluation of ``ws`` and their sizes in cases: one "embedding <set>"
    per set (its accepted cases), one "embedding <set> in <space>" per set and comparison feature
    space (``evaluation.comparison_spaces``), and for a demo still to build "building the demo
    cases"."""
    from ..evaluation import comparison_spaces

    totals: dict[str, int] = {}
    if is_demo(ws) and missing_sets(ws):
        counts = demo_counts(demo_options or {})
        totals[DEMO_BUILD_STAGE] = sum(counts.values())
    else:
        counts = {name: ws.entry(name).n_accepted for name in ws.set_names()}
    totals |= {f"embedding {name}": n for name, n in counts.items()}
    for space in comparison_spaces(ws.backbone):
        totals |= {f"embedding {name} in {space}": n for name, n in counts.items()}
    return totals


# -------------------------------------------------------- an evaluation that shows rows early

DEMO_FIRST = ("small",)  # built and scored first with the real set: a first row within seconds


@dataclass(frozen=True)
class Scores:
    """An evaluation result, provisional while ``pending`` names sets still being built or embedded
    (FID_max, FID scores and ranks are then over the submissions scored so far), or while
    ``pending_spaces`` names the feature spaces it is still to be compared in (every row is then
    final in the workspace's backbone; FRD and the agreement between spaces are missing)."""

    result: dict
    pending: tuple[str, ...] = ()
    pending_spaces: tuple[str, ...] = ()

    @property
    def provisional(self) -> bool:
        return bool(self.pending or self.pending_spaces)


def evaluate_in_steps(ws: Workspace, progress: Progress | None = None, publish=None,
                      demo_options: dict | None = None) -> dict:
    """``evaluate`` that shows rows as soon as they exist: each set is embedded in turn and,
    whenever one was not all in the cache and others are still to come, the submissions embedded so far
    are scored and handed to ``publish(Scores(result, pending))`` (provisional: FID_max is over
    those). Once every set is embedded, if a comparison feature space lacks any set in the cache,
    all of them are published in the workspace's backbone before that space is embedded
    (radiomics: ~16 ms a case, two minutes for the demo; Inception v3 ~100 ms). The final result
    is the one ``evaluate`` gives, stored under the same key, and is published too. A workspace
    whose embeddings are all cached, in every space, goes straight to it.

    The built-in demo is built in steps for this: the real and the small set first (a first row
    within seconds), then the others, each registered as soon as its archive is written
    (``demo_options`` as for ``open_demo_workspace``, for smaller demos)."""
    import queue
    import threading

    from ..evaluation import comparison_spaces, embed_set, score_embedded, set_in_cache

    publish = publish or (lambda scores: None)
    ready: queue.Queue = queue.Queue()
    builder = None
    if is_demo(ws) and missing_sets(ws):
        first = _build_demo_first_sets(ws, progress, demo_options or {})
        for name in first + [n for n in ws.set_names() if n not in first]:  # and any built before
            ready.put(name)
        builder = threading.Thread(target=_build_demo_rest, args=(ws, progress, demo_options or {}, ready),
                                   name="gan_eval-demo-build", daemon=True)
        builder.start()
        expected = [REAL, *DEMO_FIRST] + [n for n in demo_counts({}) if n not in (REAL, *DEMO_FIRST)]
    else:
        if ws.real is None:
            raise ValueError("the workspace has no real set yet")
        if not ws.submissions:
            raise ValueError("the workspace has no submission yet")
        expected = ws.set_names()
        for name in expected:
            ready.put(name)
        ready.put(None)
    embedded: dict[str, EmbeddingSet] = {}
    while True:
        name = ready.get()
        if isinstance(name, BaseException):
            raise name
        if name is None:
            break
        calls: list[tuple] = []

        def report(done, total, stage="", calls=calls):
            calls.append((done, total))
            if progress:
                progress(done, total, stage)
        embedded[name] = embed_set(ws, name, report)
        worked = not calls or calls[0][1] is None or calls[0][0] < calls[0][1]  # not all found in the cache
        pending = tuple(n for n in expected if n not in embedded)
        subs = {n: e for n, e in embedded.items() if n != REAL}
        if pending and worked and REAL in embedded and subs:
            if progress:
                progress(0, None, "scoring (provisional)")
            # Provisional rows in the workspace's backbone only: the other feature spaces join at the end.
            publish(Scores(score_embedded(ws, {REAL: embedded[REAL], **subs}, compare_in=()), pending))
        if builder is None and not pending:
            break
    # Spaces with a set to embed (also when every set was in the cache in the workspace's
    # backbone: a space whose weights were just installed, radiomics after its code changed).
    spaces = tuple(space for space in comparison_spaces(ws.backbone)
                   if not all(set_in_cache(ws, name, space) for name in embedded))
    if spaces and len(embedded) > 1:
        if progress:
            progress(0, None, "scoring (provisional)")
        publish(Scores(score_embedded(ws, embedded, compare_in=()), pending_spaces=spaces))
    result = score_embedded(ws, embedded, progress)
    publish(Scores(result))
    return result


def _staging(ws: Workspace) -> Path:
    staging = ws.root / "demo_staging-steps"  # kept between the two steps, removed at the end
    staging.mkdir(exist_ok=True)
    return staging


def _build_progress(progress: Progress | None, total: int, floor: list[int]):
    if progress is None:
        return None

    def report(message: str, fraction: float) -> None:
        floor[0] = max(floor[0], round(fraction * total))
        progress(floor[0], total, DEMO_BUILD_STAGE)
    return report


def _register(ws: Workspace, staging: Path, name: str, move: bool = True) -> bool:
    """Register a built demo archive (copied when the second step must find it in staging)."""
    if name in ws.set_names():
        return False
    path = staging / f"{name}.zip"
    ws.add_archive(name, path, filename=path.name, move=move)
    return True


def _build_demo_first_sets(ws: Workspace, progress: Progress | None, options: dict) -> list[str]:
    """Build and register the real set and ``DEMO_FIRST`` (the other sets only as a few cases,
    which the second step replaces): ``build_demo`` keeps an archive whose recipe matches."""
    from ..demo import PROTOTYPES, build_demo, default_workers

    options = {"workers": default_workers()} | options
    counts = demo_counts(options)
    with demo_lock(ws):
        missing = missing_sets(ws)
        first = [n for n in (REAL, *DEMO_FIRST) if n in missing]
        if first:
            staging = _staging(ws)
            small = options | {"n_cases": PROTOTYPES}
            floor = [0]
            build_demo(staging, seed=ws.seed, progress=_build_progress(progress, sum(counts.values()), floor), **small)
            for name in first:
                _register(ws, staging, name, move=False)  # the second step keeps them, unbuilt
    return [REAL, *DEMO_FIRST]


def _build_demo_rest(ws: Workspace, progress: Progress | None, options: dict, ready) -> None:
    """Build the remaining demo sets, registering each (and putting its name on ``ready``) as
    soon as its archive is complete; None on ``ready`` at the end, or the exception."""
    import json
    import shutil

    from ..demo import MANIFEST, build_demo, default_workers

    options = {"workers": default_workers()} | options
    counts = demo_counts(options)
    done: set[str] = set()
    try:
        with demo_lock(ws):
            staging = _staging(ws)

            def register_complete() -> None:
                try:
                    manifest = json.loads((staging / MANIFEST).read_text())
                except (OSError, ValueError):
                    return
                for name, n in counts.items():
                    recipe = manifest.get(f"{name}.zip") or {}
                    if name not in done and recipe.get("cases") == n and (staging / f"{name}.zip").exists():
                        done.add(name)
                        if _register(ws, staging, name):
                            ready.put(name)

            floor = [0]
            report = _build_progress(progress, sum(counts.values()), floor)

            def watch(message: str, fraction: float) -> None:
                if report:
                    report(message, fraction)
                register_complete()

            done.update(n for n in counts if n in ws.set_names())
            if missing_sets(ws):
                build_demo(staging, seed=ws.seed, progress=watch, **options)
                register_complete()
            shutil.rmtree(staging, ignore_errors=True)
        ready.put(None)
    except BaseException as exc:  # handed to the evaluation, which raises it
        ready.put(exc)


