"""A training run is a folder; this module is its file layout and the process that fills it.

RUN_DIR/
    config.json       the TrainConfig settings, plus "run": what the trainer derived (device, channels)
    checkpoint.pt     G, D, G_ema, optimisers, step, RNG state (written atomically)
    log.jsonl         one JSON line per logged step: step, time, steps_per_s, loss_d, loss_g[, r1]
    metrics.jsonl     one JSON line per live-metric evaluation, written by gan_eval.api.Tracker
    generators/       step_XXXXXX.pt: the EMA generator at each live-metric evaluation (export any)
    samples/          step_XXXXXX.png grids from G_ema with fixed latents; real.png for comparison
    status.json       state (starting/running/stopped/finished/failed), pid, step, total, error
    STOP              present = please stop: the trainer checkpoints, then exits as "stopped"
    launch.json       pid and command of the process start_run/resume_run launched
    process.log       that process's stdout and stderr

A team's own training loop writes only ``metrics.jsonl`` (through gan_eval.api.Tracker); such a
*tracked* run is listed and plotted beside the baseline's runs, with state ``tracked``.

The Streamlit page only calls the functions here: it launches a training process detached from
its own session (so it survives reruns and page reloads) and reads the folder to show progress.
Nothing here imports torch.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import secrets
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from gan_eval.progress import describe
from gan_eval.store import append_line, atomic_write_text

from .config import TrainConfig

CONFIG, CHECKPOINT, LOG, STATUS, STOP = "config.json", "checkpoint.pt", "log.jsonl", "status.json", "STOP"
METRICS, GENERATORS = "metrics.jsonl", "generators"
SAMPLES, LAUNCH, PROCESS_LOG = "samples", "launch.json", "process.log"
ACTIVE_STATES = ("starting", "running")
TRACKED = "tracked"  # the state of a folder holding only a tracker's metrics.jsonl (a team's own loop)
_PROJECT_ROOT = Path(__file__).resolve().parents[2]  # the folder holding the gan_eval package


def write_json_atomic(path: Path, data: dict) -> None:
    """Write JSON to a temporary file and rename it, so a reader never sees half a file."""
    atomic_write_text(path, json.dumps(data, indent=1))


def read_json(path: Path) -> dict:
    return json.loads(Path(path).read_text())


def write_status(run_dir: str | Path, state: str, step: int, total: int, error: str | None = None, **extra) -> dict:
    status = {"state": state, "pid": os.getpid(), "step": step, "total": total, "error": error,
              "updated": time.time(), **extra}
    write_json_atomic(Path(run_dir) / STATUS, status)
    return status


def _pid_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie (an exited child nobody waited for)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:  # no /proc (not Linux): fall back to signal 0
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


def _process_log_tail(run_dir: Path, lines: int = 5) -> str:
    path = run_dir / PROCESS_LOG
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


def read_status(run_dir: str | Path) -> dict:
    """The run's status.json. A run marked starting/running whose process has gone (killed,
    out of memory) is reported as ``failed`` with the end of process.log as the error. A folder
    with only metric lines (a team's tracker) is ``tracked`` at its last logged step."""
    run_dir = Path(run_dir)
    path = run_dir / STATUS
    if not path.exists():
        metrics = read_metrics(run_dir)
        if not metrics:
            raise FileNotFoundError(f"{run_dir}: not a GAN run folder (no {STATUS} and no {METRICS} lines)")
        return {"state": TRACKED, "pid": None, "step": metrics[-1]["step"], "total": None, "error": None,
                "created": metrics[0].get("time", 0.0), "updated": metrics[-1].get("time", 0.0)}
    status = read_json(path)
    if status["state"] in ACTIVE_STATES:
        pid = status.get("pid")
        if pid is None and (run_dir / LAUNCH).exists():
            pid = read_json(run_dir / LAUNCH)["pid"]
        if pid is not None and not _pid_alive(pid):
            status["state"] = "failed"
            status["error"] = (f"training process {pid} ended without reporting; last output:\n"
                               f"{_process_log_tail(run_dir)}")
    return status


def append_json_line(path: Path, record: dict) -> None:
    """Append ``record`` as one JSON line (NaN and infinity written as null: the file stays JSON)."""
    append_line(path, json.dumps(_finite(record), allow_nan=False))


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def read_lines(path: Path) -> list[dict]:
    """Every JSON line of ``path``, oldest first ([] without the file; a last line still being
    written is skipped)."""
    if not path.exists():
        return []
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            break
    return records


def append_log(run_dir: str | Path, record: dict) -> None:
    append_json_line(Path(run_dir) / LOG, record)


def read_log(run_dir: str | Path) -> list[dict]:
    """Every logged step, oldest first."""
    return read_lines(Path(run_dir) / LOG)


def read_metrics(run_dir: str | Path) -> list[dict]:
    """Every live-metric line (gan_eval.api.Tracker), oldest first."""
    return read_lines(Path(run_dir) / METRICS)


def truncate_lines(path: Path, step: int) -> None:
    """Drop the lines of ``path`` logged after ``step``."""
    if path.exists():
        kept = [r for r in read_lines(path) if r["step"] <= step]
        atomic_write_text(path, "".join(json.dumps(r) + "\n" for r in kept))


def truncate_log(run_dir: str | Path, step: int) -> None:
    """Drop log and metric lines after ``step`` (the checkpoint a resumed run restarts from)."""
    for name in (LOG, METRICS):
        truncate_lines(Path(run_dir) / name, step)


def describe_status(status: dict, log: list[dict]) -> str:
    """``running · steps 400/3000 · 3.1/s · ~14.0 min left``, worded as every progress in gan_eval
    (gan_eval.progress); the rate is the training loop's own, from the last log line."""
    if status["total"] is None:  # a tracked run: its loop alone knows where it ends
        return f"{status['state']} · step {status['step']}"
    rate = log[-1].get("steps_per_s") if log else None
    active = status["state"] in ACTIVE_STATES
    left = (status["total"] - status["step"]) / rate if rate and active else None
    return describe(f"{status['state']} · steps", status["step"], status["total"], rate, left)


def page_is_stale(rendered_state: str, state: str) -> bool:
    """Whether a page drawn while the run was ``rendered_state`` must be drawn again now that it
    is ``state``: what it offers differs between an active run (stop) and an ended one (generate,
    resume), so a change between the two needs more than the live part redrawn."""
    return (rendered_state in ACTIVE_STATES) != (state in ACTIVE_STATES)


def request_stop(run_dir: str | Path) -> None:
    """Ask the training process to checkpoint and exit (it checks every step)."""
    (Path(run_dir) / STOP).touch()


def stop_requested(run_dir: str | Path) -> bool:
    return (Path(run_dir) / STOP).exists()


def clear_stop(run_dir: str | Path) -> None:
    (Path(run_dir) / STOP).unlink(missing_ok=True)


def sample_path(run_dir: str | Path, step: int) -> Path:
    return Path(run_dir) / SAMPLES / f"step_{step:06d}.png"


def list_samples(run_dir: str | Path) -> list[Path]:
    """Every sample grid of the run, oldest first (step_XXXXXX.png sorts by step)."""
    return sorted((Path(run_dir) / SAMPLES).glob("step_*.png"))


def latest_sample(run_dir: str | Path) -> Path | None:
    """The newest sample grid, or None before the first one."""
    grids = list_samples(run_dir)
    return grids[-1] if grids else None


def generator_path(run_dir: str | Path, step: int) -> Path:
    """The EMA generator kept at the live-metric evaluation of ``step``."""
    return Path(run_dir) / GENERATORS / f"step_{step:06d}.pt"


# How the best step is chosen for each metric a live-metric line holds: lower is better for all
# three; the 1-NN accuracy is best at its chance level for the sample size, not at 0.
SELECTION_METRICS = {
    "fid": "FID",
    "kid": "KID",
    "loo_accuracy": "1-NN accuracy nearest chance",
}


def _objective(line: dict, metric: str) -> float | None:
    value = line.get(metric)
    if value is None:
        return None
    return abs(value - line["loo_chance"]) if metric == "loo_accuracy" else value


def best_step(run_dir: str | Path, metric: str) -> dict | None:
    """The live-metric line with the best ``metric`` (a key of SELECTION_METRICS) among the steps
    whose generator was kept, or None when there is none; ties go to the earlier step."""
    if metric not in SELECTION_METRICS:
        raise ValueError(f"best_step: cannot choose by {metric!r}; choose by one of {', '.join(SELECTION_METRICS)}")
    scored = [(_objective(line, metric), line) for line in read_metrics(run_dir)
              if generator_path(run_dir, line["step"]).exists()]
    scored = [(value, line) for value, line in scored if value is not None]
    return min(scored, key=lambda pair: (pair[0], pair[1]["step"]))[1] if scored else None


# Settings added after runs were first saved, with the value that reproduces those older runs.
SETTINGS_ADDED_LATER = {"mode_seeking": 0.0, "metrics_every": 0, "lesion_std": 0.0}


def read_config(run_dir: str | Path) -> dict:
    """A run's config.json, with settings it predates filled in as it was trained (off)."""
    return {**SETTINGS_ADDED_LATER, **read_json(Path(run_dir) / CONFIG)}


def list_runs(root: str | Path) -> list[dict]:
    """Every run folder directly under ``root``, newest first: name, path, settings, status. A
    tracked run (metric lines only) has settings ``{}``."""
    runs = []
    for run_dir in Path(root).glob("*/"):
        if (run_dir / CONFIG).exists() and (run_dir / STATUS).exists():
            runs.append({"name": run_dir.name, "run_dir": run_dir, "config": read_config(run_dir),
                         "status": read_status(run_dir)})
        elif not (run_dir / STATUS).exists() and read_metrics(run_dir):
            runs.append({"name": run_dir.name, "run_dir": run_dir, "config": {}, "status": read_status(run_dir)})
    return sorted(runs, key=lambda r: r["status"].get("created", 0.0), reverse=True)


def _launch(run_dir: Path, args: list[str], status: dict) -> subprocess.Popen:
    """Mark the run ``starting`` and start ``python -m gan_eval train ARGS`` in its own session
    (it survives the caller), with its output in process.log."""
    command = [sys.executable, "-m", "gan_eval", "train", *args]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_PROJECT_ROOT), env.get("PYTHONPATH")]))
    env.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # lets cuBLAS run deterministically on a GPU
    (run_dir / LAUNCH).unlink(missing_ok=True)  # a previous launch's pid must not be read as this one's
    clear_stop(run_dir)
    write_json_atomic(run_dir / STATUS, {**status, "state": "starting", "pid": None, "error": None,
                                         "updated": time.time()})
    with open(run_dir / PROCESS_LOG, "ab") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   env=env, start_new_session=True)
    write_json_atomic(run_dir / LAUNCH, {"pid": process.pid, "command": command, "started": time.time()})
    return process


class RunLimitError(RuntimeError):
    """As many runs as allowed are already training in that folder."""


@contextmanager
def _starting(root: Path) -> Iterator[None]:
    """One start at a time per runs folder, across processes: counting the active runs and
    launching one must not interleave with another start."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".start.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def active_runs(root: str | Path) -> list[str]:
    return [r["name"] for r in list_runs(root) if r["status"]["state"] in ACTIVE_STATES]


def new_run_name() -> str:
    """``run-YYYYmmdd-HHMMSS-xxxx``: sorted by time, and two starts in one second get two names."""
    return time.strftime("run-%Y%m%d-%H%M%S-") + secrets.token_hex(2)


def start_run(real_path: str | Path, run_dir: str | Path, config: TrainConfig | dict | None = None,
              max_active: int | None = None) -> subprocess.Popen:
    """Launch a new training run in ``run_dir`` (created; must not hold a run yet).

    ``config`` is a TrainConfig or a dict of its settings; ``real_path`` overrides its
    ``real_path``. Writes config.json and a ``starting`` status before returning, so the run is
    listed at once. The returned process need not be waited for. ``max_active``: refuse
    (RunLimitError) when that many runs of ``run_dir``'s parent folder are already active.
    """
    run_dir = Path(run_dir)
    if isinstance(config, dict) or config is None:
        config = TrainConfig.from_dict(config or {})
    config = TrainConfig.from_dict({**config.to_dict(), "real_path": str(Path(real_path).resolve())})
    if not Path(real_path).exists():
        raise FileNotFoundError(f"start_run: real set {real_path} does not exist")
    with _starting(run_dir.parent):
        if (run_dir / STATUS).exists() or (run_dir / CHECKPOINT).exists():
            raise FileExistsError(f"{run_dir}: already holds a run; use resume_run or choose another folder")
        active = active_runs(run_dir.parent) if max_active is not None else []
        if max_active is not None and len(active) >= max_active:
            raise RunLimitError(f"{len(active)} training run(s) already active ({', '.join(active)}), the most "
                                f"allowed at once here: stop one, or let it finish, before starting another")
        run_dir.mkdir(parents=True, exist_ok=True)
        write_json_atomic(run_dir / CONFIG, config.to_dict())
        return _launch(run_dir, ["--out", str(run_dir), "--config", str(run_dir / CONFIG)],
                       {"step": 0, "total": config.steps, "created": time.time()})


def resume_run(run_dir: str | Path, steps: int | None = None) -> subprocess.Popen:
    """Continue a stopped, finished or failed run from its last checkpoint; ``steps`` may raise
    the total (the schedule is constant, so a longer run continues exactly as if planned)."""
    run_dir = Path(run_dir)
    status = read_status(run_dir)
    if status["state"] in ACTIVE_STATES:
        raise RuntimeError(f"{run_dir}: run is still {status['state']} (pid {status['pid']}); stop it first")
    if not (run_dir / CHECKPOINT).exists():
        raise FileNotFoundError(f"{run_dir}: no {CHECKPOINT} to resume from")
    total = status["total"] if steps is None else steps
    args = ["--out", str(run_dir), "--resume"] + ([] if steps is None else ["--steps", str(steps)])
    return _launch(run_dir, args, {**status, "total": total})
