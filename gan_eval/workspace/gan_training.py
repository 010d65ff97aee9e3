"""The baseline GAN's use cases that need live metrics: a run configured to score itself in the
workspace's embedding, and the export of any step whose generator was kept (the best one).

Beside ``service`` (``start_training``, ``add_gan_submission``), which these extend: the page
starts a run with ``service.start_training(ws, training_config(ws, ...))``.
"""

from __future__ import annotations

from pathlib import Path

from ..access import AuditLog
from ..archives import ValidationReport
from ..gan import runs
from ..gan.config import TrainConfig
from ..metrics import registry
from ..store import scratch_path
from .folder import SetEntry, Workspace
from .service import BASELINE, GENERATED_CASES


def training_config(ws: Workspace, **settings) -> TrainConfig:
    """A TrainConfig of ``settings`` whose live metrics use the workspace's backbone, weights and
    embedding cache: the real set's features are there already, and the curves are in the same
    embedding as the leaderboard."""
    return TrainConfig(**settings, backbone=ws.backbone, backbone_weights=ws.weights, cache_dir=str(ws.cache_dir))


def export_choices(run_dir: Path) -> list[tuple[str, int | None]]:
    """What a run can be exported from, as (label, step): its last checkpoint (step None) first,
    then the best kept step by each live metric (runs.SELECTION_METRICS), each named once."""
    status = runs.read_status(run_dir)
    choices: list[tuple[str, int | None]] = [(f"last checkpoint (step {status['step']})", None)]
    for metric, label in runs.SELECTION_METRICS.items():
        best = runs.best_step(run_dir, metric)
        if best is not None:
            value = registry.output(metric).format(best[metric])
            choices.append((f"best by {label}: step {best['step']} ({registry.output(metric).label} {value})",
                            best["step"]))
    return choices


def add_gan_submission(ws: Workspace, run_dir: Path, step: int | None = None, name: str = BASELINE,
                       n: int = GENERATED_CASES, actor: str = "cli") -> tuple[SetEntry, ValidationReport]:
    """``service.add_gan_submission`` from the last checkpoint or, with ``step``, from the generator
    kept at that step: ``n`` cases registered as submission ``name`` (replacing the one generated
    before), recorded in the audit log with the step."""
    from ..gan.export import generate

    with scratch_path(ws.root / "incoming", ".zip") as tmp:
        archive = generate(run_dir, n, tmp, seed=ws.seed, step=step)
        entry, report = ws.add_archive(name, archive, filename=f"{name}.zip", move=True, replace=True)
    AuditLog(ws.audit_log).append(actor, "add baseline", set=name, run=Path(run_dir).name, step=step,
                                  sha256=entry.sha256)
    return entry, report
