"""The use cases that the app and the CLI share, on a workspace.

Each function here is one thing a user does or reads: add an upload, add the baseline GAN's cases
as a submission, the leaderboard with the reader study folded in, the reading pool kept in step
with the selected cases, the report on one case (its nearest real case), the 2D map. The fronts
only lay out what these return; none of them names a page or a widget.
"""

from __future__ import annotations

import html
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..archives import ValidationReport
from ..diagnosis import nearest_real
from ..embedding_set import EmbeddingSet
from ..progress import Progress
from ..store import read_checked_json, scratch_path, write_checked_json
from .demo import demo_root, open_demo_workspace
from .folder import BASELINE, REAL, SetEntry, Workspace, check_team_name, default_home

GENERATED_CASES = 1000              # cases generated for a submission, as each challenge team did
_WORKSPACE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}$")


# ------------------------------------------------------------------------------------- workspaces

def list_workspaces(home: Path | None = None) -> list[str]:
    """Names of the workspaces under ``home`` (default: ``default_home()``)."""
    home = home or default_home()
    return sorted(p.name for p in home.glob("*") if (p / "workspace.json").exists()) if home.exists() else []


def workspace_path(name: str, home: Path | None = None) -> Path:
    """The folder of the workspace called ``name``; ValueError for a name that is not a plain
    ASCII folder name of at most 64 characters (no paths, no look-alike Unicode)."""
    name = name.strip()
    if not _WORKSPACE_NAME.match(name):
        raise ValueError(f"workspace name {name!r} is not allowed: use 1-64 ASCII letters, digits, '-' or '_', "
                         "starting with a letter or digit")
    return (home or default_home()) / name


def served_workspace(home: Path | None = None) -> Path:
    """The workspace a jury server shows its readers and visitors: the one its organiser last
    chose (``set_served_workspace``), else the demo."""
    pointer = read_checked_json((home or default_home()) / "served.json")
    if isinstance(pointer, dict) and isinstance(pointer.get("workspace"), str):
        try:
            return workspace_path(pointer["workspace"], home)
        except ValueError:
            pass  # a pointer edited by hand to something that is not a workspace name
    return demo_root() if home is None else home / "demo"


def set_served_workspace(root: Path, home: Path | None = None) -> None:
    write_checked_json((home or default_home()) / "served.json", {"workspace": Path(root).name})


def is_demo(ws: Workspace) -> bool:
    return ws.root.resolve() == demo_root().resolve()


def evaluate(ws: Workspace, progress: Progress | None = None) -> dict:
    """The workspace's scores (building the demo's sets first when ``ws`` is the demo)."""
    from ..evaluation import evaluate_workspace

    current = open_demo_workspace(ws.root, progress=progress) if is_demo(ws) else ws
    return evaluate_workspace(current, progress=progress)


def can_evaluate(ws: Workspace) -> bool:
    """Whether there is something to score (the demo always builds its own sets)."""
    return is_demo(ws) or (ws.real is not None and bool(ws.submissions))


# ------------------------------------------------------------------------------------------ uploads

def _audit(ws: Workspace, actor: str, action: str, **details: object) -> None:
    from ..access import AuditLog

    AuditLog(ws.audit_log).append(actor, action, **details)


def add_upload(ws: Workspace, team: str | None, stream: BinaryIO, filename: str,
               replace: bool = False, actor: str = "cli") -> tuple[SetEntry, ValidationReport]:
    """Store an uploaded file in the workspace, validate it and register it: as the real set when
    ``team`` is None, else as that team's submission (a team can never be called "real").

    Raises ArchiveError (refused), ValueError (bad name), SetExistsError (the set exists and
    ``replace`` is false) or DiskFullError; in every case nothing already stored is changed and
    nothing half-written is left behind.
    """
    name = REAL if team is None else check_team_name(team)
    with scratch_path(ws.root / "incoming", ".upload") as tmp:
        with open(tmp, "wb") as f:
            shutil.copyfileobj(stream, f)
        entry, report = ws.add_archive(name, tmp, filename=filename, move=True, replace=replace)
    _audit(ws, actor, "upload", set=entry.name, filename=filename, sha256=entry.sha256, cases=entry.n_accepted,
           rejected=entry.n_rejected, replaced=replace)
    return entry, report


def remove_submission(ws: Workspace, name: str, actor: str = "cli") -> None:
    entry = ws.entry(name)
    ws.remove_submission(name)
    _audit(ws, actor, "remove", set=name, sha256=entry.sha256)


def start_training(ws: Workspace, config, actor: str = "cli") -> str:
    """Start a baseline GAN run on the real set; returns its name. At most the workspace's
    ``max_training_runs`` (default 1) train at once: RunLimitError beyond."""
    from ..gan import runs

    if ws.real is None:
        raise ValueError("the baseline GAN trains on the real set: the workspace has none yet")
    name = runs.new_run_name()
    runs.start_run(ws.archive_path(REAL), ws.gan_runs_dir / name, config, max_active=ws.max_training_runs)
    _audit(ws, actor, "start training", run=name)
    return name


def team_name_from_filename(filename: str) -> str:
    """The team name an upload gets when none is typed: its file name without the suffixes."""
    return Path(filename).name.split(".")[0]


def add_gan_submission(ws: Workspace, run_dir: Path, step: int | None = None, name: str = BASELINE,
                       n: int = GENERATED_CASES, actor: str = "cli") -> tuple[SetEntry, ValidationReport]:
    """Generate ``n`` cases from a run's EMA generator (its last checkpoint, or with ``step`` the
    generator kept at that step: the best one) and register them as submission ``name``
    (replacing the baseline generated before: asking for new cases is the confirmation)."""
    from ..gan.export import generate

    with scratch_path(ws.root / "incoming", ".zip") as tmp:
        archive = generate(run_dir, n, tmp, seed=ws.seed, step=step)
        entry, report = ws.add_archive(name, archive, filename=f"{name}.zip", move=True, replace=True)
    _audit(ws, actor, "add baseline", set=name, run=Path(run_dir).name, step=step, sha256=entry.sha256)
    return entry, report


def training_config(ws: Workspace, **settings):
    """A TrainConfig of ``settings`` whose live metrics use the workspace's backbone, weights and
    embedding cache: the real set's features are there already, and the curves are in the same
    embedding as the leaderboard."""
    from ..gan.config import TrainConfig

    return TrainConfig(**settings, backbone=ws.backbone, backbone_weights=ws.weights, cache_dir=str(ws.cache_dir))


def export_choices(run_dir: Path) -> list[tuple[str, int | None]]:
    """What a run can be exported from, as (label, step): its last checkpoint (step None) first,
    then the best kept step by each live metric (runs.SELECTION_METRICS), each named once."""
    from ..gan import runs
    from ..metrics import registry

    status = runs.read_status(run_dir)
    choices: list[tuple[str, int | None]] = [(f"last checkpoint (step {status['step']})", None)]
    for metric, label in runs.SELECTION_METRICS.items():
        best = runs.best_step(run_dir, metric)
        if best is not None:
            value = registry.output(metric).format(best[metric])
            choices.append((f"best by {label}: step {best['step']} ({registry.output(metric).label} {value})",
                            best["step"]))
    return choices


# ------------------------------------------------------------------------------------- leaderboard

def reader_study(ws: Workspace):
    from ..reader_study import ReaderStudy

    return ReaderStudy(ws.reader_db)


def reading_selection(result: dict) -> dict[str, list[str]]:
    """Each scored submission's cluster-selected cases."""
    return {team: s["selected_cases"] for team, s in result["submissions"].items()}


def reading_pool(ws: Workspace, result: dict) -> dict[str, list[str]]:
    """What the readers rate: the teams' selected cases and, while the visual Turing test is on,
    that many real cases chosen by the same K-means rule on the real set (as the team ``real``).
    Every result of the study is computed over this pool."""
    from .. import turing

    pool = reading_selection(result)
    setting = reader_study(ws).turing_setting()
    if not setting.enabled:
        return pool
    return turing.reading_pool(pool, _real_cases(ws, setting.n_real))


def _real_cases(ws: Workspace, k: int) -> list[str]:
    from .. import turing
    from ..evaluation import embed_set

    key = (str(ws.root), ws.entry(REAL).sha256, ws.backbone, k, ws.seed)
    if key not in _REAL_CASES:
        real = embed_set(ws, REAL)
        _REAL_CASES[key] = turing.select_real_cases(real.features, real.case_ids, k=k, seed=ws.seed)
    return _REAL_CASES[key]


_REAL_CASES: dict[tuple, list[str]] = {}  # K-means on the real set, once per set, backbone, k and seed


def reading_summary(ws: Workspace, result: dict, readers: list[str] = ()) -> dict:
    """The reading's results over the pool, once closed: each team's reads (complete reads against
    readers x cases), the qualitative score's 95% interval (resampling readers and cases), the
    agreement with intervals, the real cases' ceiling and the Turing test's detection rates."""
    study = reader_study(ws)
    pool = reading_pool(ws, result)
    return {"reads": study.reads(readers, selected=pool),
            "qualitative": study.qualitative_intervals(selected=pool, seed=ws.seed),
            "agreement": study.agreement_intervals(selected=pool, seed=ws.seed),
            "ceiling": study.real_ceiling(selected=pool),
            "turing": study.turing_summary(selected=pool),
            "detection": study.detection_by_reader(selected=pool)}


def leaderboard(ws: Workspace, result: dict) -> dict:
    """The evaluation with the reader study's qualitative and final scores folded in, once reading
    is closed (while it is open, team results stay blinded). Ratings of cases no longer selected
    (a team re-uploaded or removed) are kept by the study but not counted."""
    from ..scoring import add_qualitative

    study = reader_study(ws)
    if not study.is_closed():
        return result
    pool = reading_pool(ws, result)
    qualitative = study.qualitative_scores(selected=pool)
    board = add_qualitative(result, qualitative) if qualitative else result
    reads = study.reads(selected=pool)
    intervals = study.qualitative_intervals(selected=pool, seed=ws.seed)
    for team, s in board["submissions"].items():
        if team in reads:
            s["reads"], s["reads_expected"] = reads[team].done, reads[team].expected
        if team in intervals and intervals[team].low is not None:
            s["qualitative_ci95"] = [intervals[team].low, intervals[team].high]
    return board


def exportable(ws: Workspace, result: dict) -> dict:
    """The result as every export (JSON, CSV, report) gives it: while the reading is open, without
    the cluster-selected cases, so that no download tells anyone which cases are being read."""
    if reader_study(ws).is_closed():
        return result
    return {**result, "submissions": {name: {k: v for k, v in s.items() if k != "selected_cases"}
                                      for name, s in result["submissions"].items()},
            "reading": "open: the selected cases are withheld until the reading is closed"}


def sync_reading_pool(ws: Workspace, result: dict) -> None:
    """Keep the reader study's items in step with the cluster-selected cases of the evaluation
    (a read when nothing changed; cases no longer selected become stale, their ratings kept)."""
    from ..reader_study import ReadingClosedError

    study = reader_study(ws)
    if not study.is_closed():
        try:
            study.register_items(reading_pool(ws, result))
        except ReadingClosedError:
            pass  # closed meanwhile: results follow the selection given to them


# --------------------------------------------------------------------------------------- one case

@dataclass(frozen=True)
class CaseReport:
    """A generated case against the real set: its nearest real case, and whether it is a copy."""

    nearest_real: str
    distance: float
    typical: float          # median real-to-real nearest-neighbour distance
    alpha: float            # the memorisation threshold the evaluation used
    backbone: str

    @property
    def ratio(self) -> float:
        return self.distance / self.typical

    @property
    def suspected_copy(self) -> bool:
        return self.ratio < self.alpha


def case_report(result: dict, real: EmbeddingSet, submission: EmbeddingSet, case_id: str) -> CaseReport:
    """The nearest real case of ``case_id``, judged with the evaluation's own threshold."""
    index, distance, typical = nearest_real(submission.features[submission.case_ids.index(case_id)], real.features)
    return CaseReport(real.case_ids[index], float(distance), float(typical),
                      float(result["settings"]["memorisation_alpha"]), submission.backbone)


# ---------------------------------------------------------------------------------------- the map

@dataclass(frozen=True)
class MapPoints:
    """Everything drawn on the embedding map, one entry per case, real cases first."""

    features: np.ndarray
    set_names: list[str]
    case_ids: list[str]
    highlighted: np.ndarray   # the K-means-selected cases

    def projection(self, method: str, seed: int, cache_dir: Path, compute: bool = True) -> np.ndarray | None:
        """The 2D coordinates, from the cache; computed (and stored) only when ``compute``."""
        from ..projection import cached_projection, project

        coords = cached_projection(self.features, method, seed, cache_dir)
        if coords is None and compute:
            coords = project(self.features, method, seed=seed, cache_dir=cache_dir)
        return coords


def map_points(result: dict, embeddings: dict[str, EmbeddingSet], chosen: list[str]) -> MapPoints:
    """The real set and the ``chosen`` submissions (``embeddings`` holds each set by name)."""
    sets = [REAL] + [name for name in chosen if name != REAL]
    set_names = [n for n in sets for _ in range(len(embeddings[n]))]
    case_ids = [cid for n in sets for cid in embeddings[n].case_ids]
    selected = {(n, cid) for n in sets[1:] for cid in result["submissions"][n].get("selected_cases", [])}
    return MapPoints(np.concatenate([embeddings[n].features for n in sets]), set_names, case_ids,
                     np.array([(n, c) in selected for n, c in zip(set_names, case_ids)]))


def cuda_available() -> bool:
    from ..features.device import resolve_device

    return resolve_device("auto") == "cuda"


def is_published(ws: Workspace) -> bool:
    """Whether the workspace has published results (a snapshot whose file is there)."""
    from ..publish import LATEST_FILE, published_dir

    return (published_dir(ws) / LATEST_FILE).exists()


def report_download(ws: Workspace, result: dict) -> tuple[bytes, str]:
    """The report file the organiser downloads, and its name: the published results when the
    current evaluation is what was published, else a draft (blinded while reading is open)."""
    from .. import publish, report

    draft = publish.current_state(ws, result) != "published"
    snapshot = report.workspace_snapshot(ws, result, draft=draft)
    return report.render(snapshot), report.report_filename(snapshot)


# ------------------------------------------------------------------ the map: every set, once

def all_map_points(result: dict, embeddings: dict[str, EmbeddingSet]) -> MapPoints:
    """The real set and every scored submission (in the result's order): one map of them all,
    computed once per method and shown for whichever submissions are chosen (``MapPoints.rows``),
    so that points never move when a team is shown or hidden."""
    return map_points(result, embeddings, [name for name in result["submissions"] if name in embeddings])


def map_rows(points: MapPoints, chosen: list[str]) -> np.ndarray:
    """Rows of ``points`` shown for the ``chosen`` submissions (the real cases always)."""
    keep = {REAL, *chosen}
    return np.flatnonzero([name in keep for name in points.set_names])


def map_hover_details(points: MapPoints, result: dict, real: EmbeddingSet) -> list[str]:
    """One line per point for its hover label: whether readers rate it, and for generated cases
    the nearest real case with the distance ratio that the memorisation check uses."""
    from ..metrics.distances import pairwise

    within = pairwise(real.features.astype(np.float64))
    np.fill_diagonal(within, np.inf)
    typical = float(np.median(within.min(axis=1)))
    generated = np.flatnonzero([name != REAL for name in points.set_names])
    details = ["real case"] * len(points.set_names)
    if generated.size:
        d = pairwise(points.features[generated].astype(np.float64), real.features.astype(np.float64))
        nearest = d.argmin(axis=1)
        alpha = float(result["settings"]["memorisation_alpha"])
        for row, j, dist in zip(generated, nearest, d[np.arange(len(generated)), nearest]):
            ratio = dist / typical if typical > 0 else float("inf")
            note = "a suspected copy" if ratio < alpha else "not a copy"
            details[row] = f"nearest real {html.escape(real.case_ids[j])}, ratio {ratio:.2f} ({note})"
    for row in np.flatnonzero(points.highlighted):
        details[row] += "<br>K-means selected: the readers rate it"
    return details


def picked_cases(selection_points: list[dict]) -> list[tuple[str, str]]:
    """The (set, case id) of each point of a plotly click or selection, in order, without repeats.
    Each point's customdata is [set, case id, row]: a list, or (through Streamlit) a dict with
    string keys."""
    picked: list[tuple[str, str]] = []
    for point in selection_points:
        data = point.get("customdata")
        if isinstance(data, dict):
            data = [data[k] for k in sorted(data, key=int)]
        if data and len(data) >= 2 and (str(data[0]), str(data[1])) not in picked:
            picked.append((str(data[0]), str(data[1])))
    return picked


def selected_rows(points: MapPoints, picked: list[tuple[str, str]]) -> list[int]:
    """Rows of ``points`` holding the ``picked`` (set, case id) pairs that are on the map."""
    where = {key: row for row, key in enumerate(zip(points.set_names, points.case_ids))}
    return [where[key] for key in picked if key in where]


def selection_counts(picked: list[tuple[str, str]], order: list[str]) -> dict[str, int]:
    """How many picked cases each set has, in ``order``, sets with none left out."""
    counts = {name: sum(1 for s, _ in picked if s == name) for name in order}
    return {name: n for name, n in counts.items() if n}


BACKGROUND_MAPS = ("pca", "tsne", "umap")   # computed as soon as scoring ends


def compute_maps(points: MapPoints, seed: int, cache_dir: Path, methods=BACKGROUND_MAPS,
                 progress: Progress | None = None) -> None:
    """Compute and store every map of ``points`` that is not stored yet (a background job's work:
    the map page then only reads them)."""
    for i, method in enumerate(methods):
        if progress:
            progress(i, len(methods), f"computing the {method} map")
        points.projection(method, seed, cache_dir)
    if progress:
        progress(len(methods), len(methods), "maps ready")


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
    per set (its accepted cases), and for a demo still to build "building the demo cases"."""
    totals: dict[str, int] = {}
    if is_demo(ws) and _demo_missing(ws):
        counts = _demo_counts(demo_options or {})
        totals[DEMO_BUILD_STAGE] = sum(counts.values())
        totals |= {f"embedding {name}": n for name, n in counts.items()}
    else:
        totals |= {f"embedding {name}": ws.entry(name).n_accepted for name in ws.set_names()}
    return totals


# -------------------------------------------------------- an evaluation that shows rows early

DEMO_BUILD_STAGE = "building the demo cases"
DEMO_FIRST = ("small",)  # built and scored first with the real set: a first row within seconds


@dataclass(frozen=True)
class Scores:
    """An evaluation result, provisional while ``pending`` names sets still being built or embedded
    (FID_max, FID scores and ranks are then over the submissions scored so far)."""

    result: dict
    pending: tuple[str, ...] = ()

    @property
    def provisional(self) -> bool:
        return bool(self.pending)


def _demo_counts(options: dict) -> dict[str, int]:
    from ..demo import DEMO_SUBMISSIONS, REAL_CASES, SMALL_CASES, SUBMISSION_CASES

    return {REAL: options.get("n_real", REAL_CASES)} | {
        name: options.get("n_small", SMALL_CASES) if name == "small" else options.get("n_cases", SUBMISSION_CASES)
        for name in DEMO_SUBMISSIONS}


def _demo_missing(ws: Workspace) -> list[str]:
    from ..demo import DEMO_SUBMISSIONS

    return [name for name in [REAL, *DEMO_SUBMISSIONS] if name not in ws.set_names()]


def evaluate_in_steps(ws: Workspace, progress: Progress | None = None, publish=None,
                      demo_options: dict | None = None) -> dict:
    """``evaluate`` that shows rows as soon as they exist: each set is embedded in turn and,
    whenever one was not all in the cache and others are still to come, the submissions embedded so far
    are scored and handed to ``publish(Scores(result, pending))`` (provisional: FID_max is over
    those). The final result is the one ``evaluate`` gives, stored under the same key, and is
    published too. A workspace whose embeddings are all cached goes straight to it.

    The built-in demo is built in steps for this: the real and the small set first (a first row
    within seconds), then the others, each registered as soon as its archive is written
    (``demo_options`` as for ``open_demo_workspace``, for smaller demos)."""
    import queue
    import threading

    from ..cache import EmbeddingCache
    from ..evaluation import embed_set, evaluate_cached

    publish = publish or (lambda scores: None)
    results_dir = EmbeddingCache(ws.cache_dir).results_dir
    ready: queue.Queue = queue.Queue()
    builder = None
    if is_demo(ws) and _demo_missing(ws):
        first = _build_demo_first_sets(ws, progress, demo_options or {})
        for name in first + [n for n in ws.set_names() if n not in first]:  # and any built before
            ready.put(name)
        builder = threading.Thread(target=_build_demo_rest, args=(ws, progress, demo_options or {}, ready),
                                   name="gan_eval-demo-build", daemon=True)
        builder.start()
        expected = [REAL, *DEMO_FIRST] + [n for n in _demo_counts({}) if n not in (REAL, *DEMO_FIRST)]
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
            publish(Scores(evaluate_cached(embedded[REAL], subs, results_dir, seed=ws.seed), pending))
        if builder is None and not pending:
            break
    if progress:
        progress(0, None, "scoring")
    real = embedded.pop(REAL)
    result = evaluate_cached(real, dict(sorted(embedded.items())), results_dir, seed=ws.seed)
    publish(Scores(result))
    return result


def _demo_lock(ws: Workspace):
    import fcntl
    from contextlib import contextmanager

    @contextmanager
    def locked():
        with open(ws.root / ".demo-build.lock", "a+") as lock:  # the lock open_demo_workspace takes
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield
    return locked()


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
    counts = _demo_counts(options)
    with _demo_lock(ws):
        missing = _demo_missing(ws)
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
    counts = _demo_counts(options)
    done: set[str] = set()
    try:
        with _demo_lock(ws):
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
            if _demo_missing(ws):
                build_demo(staging, seed=ws.seed, progress=watch, **options)
                register_complete()
            shutil.rmtree(staging, ignore_errors=True)
        ready.put(None)
    except BaseException as exc:  # handed to the evaluation, which raises it
        ready.put(exc)


# --------------------------------------------------------------- the leaderboard's columns

# The challenge table: what the jury ranks by, narrow enough for a 1024 px screen. The accuracy
# stays beside the diversity it defines; qualitative and final scores join once reading is closed.
_CHALLENGE_TABLE = ("n", "fid", "fid_score", "loo_accuracy", "diversity_score", "quantitative_score",
                    "qualitative_score", "final_score")
_GROUP_TITLES = {"fid": "FID interval", "diversity": "1-NN accuracy in detail", "kid": "KID",
                 "prdc": "Precision, recall, density, coverage", "memorisation": "Memorisation",
                 "consistency": "Cross-sequence consistency", "ranks": "Ranks",
                 "reading": "Qualitative score's 95% interval (readers and cases resampled)"}


@dataclass(frozen=True)
class LeaderboardLayout:
    """Which row keys (``scoring.leaderboard_rows``) each table shows: the challenge's table
    first, then one collapsible group per metric of the registry (a new metric gets its own)."""

    challenge: list[str]
    groups: list[tuple[str, list[str]]]
    labels: dict[str, str]   # headings that differ from the registry's label here


def leaderboard_layout(rows: list[dict]) -> LeaderboardLayout:
    from ..metrics import registry

    ranked = any(row.get("rank") is not None for row in rows)
    present = set(rows[0]) if rows else set()
    wanted = [c for c in _CHALLENGE_TABLE if c in registry.CHALLENGE_COLUMNS or c == "loo_accuracy"]
    challenge = ["rank" if ranked else "quantitative_rank"] + [
        c for c in wanted if c in present and (ranked or c not in ("qualitative_score", "final_score"))]
    shown = set(challenge)
    columns = registry.table_columns()
    groups: list[tuple[str, list[str]]] = []
    if ranked:
        groups.append((_GROUP_TITLES["ranks"], ["quantitative_rank"]))
        shown.add("quantitative_rank")
    for metric in registry.metrics():
        keys = {o.key for o in metric.outputs if o.table}
        cols = [c for c in columns if registry.column_output(c).key in keys and c not in shown and c in present]
        if cols:
            groups.append((_GROUP_TITLES.get(metric.name, metric.name.replace("_", " ").capitalize()), cols))
            shown.update(cols)
    if ranked:  # the reading's own numbers beside the scores it gave
        challenge += [c for c in ("reads",) if c in present]
        reading = [c for c in ("qualitative_ci95_low", "qualitative_ci95_high") if c in present]
        if reading:
            groups.insert(0, (_GROUP_TITLES["reading"], reading))
    if any(row.get("reference") for row in rows):
        challenge.append("reference")
    labels = {} if ranked else {"quantitative_rank": "Rank"}  # the only rank until reading is closed
    return LeaderboardLayout(challenge, groups, labels)


def formatted(column: str, value: object) -> str:
    """A leaderboard cell as text: the registry's format for the column ("—" when missing)."""
    import math

    from ..metrics import registry

    output = registry.column_output(column)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return output.missing
    if output.decimals == 0 and isinstance(value, float) and value.is_integer() and output.unit != "%":
        value = int(value)  # an integer column that pandas made float (it holds a missing value)
    return output.format(value)


def missing_for_scoring(ws: Workspace) -> str | None:
    """What the workspace lacks before anything can be scored, in words; None when nothing."""
    if is_demo(ws):
        return None
    lacks = [what for what, absent in (("a real set", ws.real is None), ("a submission", not ws.submissions)) if absent]
    return f"This workspace has no {' and no '.join(w.split(' ', 1)[1] for w in lacks)} yet: add " \
           f"{' and '.join(lacks)} first." if lacks else None


def zoom_from_selection(selection: dict) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """The viewer's zoom, ((x0, x1), (y0, y1)) in pixels, from a plotly box selection as Streamlit
    returns it (``selection["box"]``); None (the whole image) when there is no box or an empty one."""
    for box in selection.get("box") or []:
        xs, ys = box.get("x") or [], box.get("y") or []
        if len(xs) == 2 and len(ys) == 2 and xs[0] != xs[1] and ys[0] != ys[1]:
            return (float(min(xs)), float(max(xs))), (float(min(ys)), float(max(ys)))
    return None
