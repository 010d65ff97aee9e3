"""The use cases that the app and the CLI share, on a workspace.

Each function here is one thing a user does or reads: add an upload, add the baseline GAN's cases
as a submission, the leaderboard with the reader study folded in, the reading pool kept in step
with the selected cases, the report on one case (its nearest real case), the 2D map. The fronts
only lay out what these return; none of them names a page or a widget.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import BinaryIO


from ..archives import ValidationReport
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
    # The ratings too: the final score's rank confidence resamples readers and cases.
    board = add_qualitative(result, qualitative, ratings=study.ratings(selected=pool)) if qualitative else result
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


