"""A workspace: one folder on disk holding everything an evaluation needs.

    <root>/workspace.json        settings (backbone, seed) and the registered sets
    <root>/archives/<sha256>.*   uploaded archives, stored by content hash (never overwritten)
    <root>/reports/<sha256>.json their validation reports
    <root>/cache/                embedding cache (gan_eval.cache)
    <root>/projections/          2D maps (gan_eval.projection)
    <root>/results/              evaluations, keyed by everything that determines them
    <root>/reader_study.sqlite   blinded reader scores
    <root>/gan_runs/             baseline GAN runs

A set is validated before it is registered; a refused archive changes nothing that was stored.
``workspace.json`` is rewritten atomically under a file lock, so two processes (the app and a
CLI, say) never lose each other's changes.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from .archives import ArchiveError, ValidationReport, read_cases, upload_suffix
from .backbones import file_sha256
from .cases import CaseSet

DEFAULT_BACKBONE = "efficientnet-lite0"
REAL = "real"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.\-]{0,63}$")


def default_home() -> Path:
    """Where workspaces live: $GAN_EVAL_HOME, else ~/gan_eval_workspaces."""
    return Path(os.environ.get("GAN_EVAL_HOME", Path.home() / "gan_eval_workspaces"))


@dataclass(frozen=True)
class SetEntry:
    """A registered case set: the real set or one team's submission."""

    name: str
    archive: str          # path relative to the workspace root
    sha256: str
    filename: str         # the name the archive had when it was added
    n_accepted: int
    n_rejected: int
    added_at: float

    def to_json(self) -> dict:
        return dict(self.__dict__)


def check_team_name(name: str) -> str:
    name = name.strip()
    if not _NAME_RE.match(name):
        raise ValueError(
            f"team name {name!r} is not allowed: use 1-64 letters, digits, spaces, '_', '-' or '.', starting with a letter or digit"
        )
    if name == REAL:
        raise ValueError("team name 'real' is reserved for the real set")
    return name


class Workspace:
    def __init__(self, root: str | Path):
        self.root = Path(root)
        for sub in ("archives", "reports", "cache", "projections", "results", "gan_runs"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        if not self._settings_path.exists():
            with self._locked():
                if not self._settings_path.exists():
                    self._write({"backbone": DEFAULT_BACKBONE, "weights": None, "seed": 0, "real": None, "submissions": {}})

    # -- settings file -----------------------------------------------------------------------
    @property
    def _settings_path(self) -> Path:
        return self.root / "workspace.json"

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with open(self.root / ".lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read(self) -> dict:
        return json.loads(self._settings_path.read_text())

    def _write(self, data: dict) -> None:
        tmp = self._settings_path.with_name(f"workspace.json.{os.getpid()}.partial")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
        os.replace(tmp, self._settings_path)

    def _update(self, change: Callable[[dict], None]) -> dict:
        with self._locked():
            data = self._read()
            change(data)
            self._write(data)
            return data

    # -- settings ----------------------------------------------------------------------------
    @property
    def settings(self) -> dict:
        return self._read()

    @property
    def backbone(self) -> str:
        return self._read()["backbone"]

    @property
    def weights(self) -> str | None:
        return self._read().get("weights")

    @property
    def seed(self) -> int:
        return int(self._read().get("seed", 0))

    def set_backbone(self, backbone: str, weights: str | None = None) -> None:
        def change(data: dict) -> None:
            data["backbone"], data["weights"] = backbone, weights
        self._update(change)

    # -- sets --------------------------------------------------------------------------------
    @property
    def real(self) -> SetEntry | None:
        entry = self._read()["real"]
        return SetEntry(**entry) if entry else None

    @property
    def submissions(self) -> dict[str, SetEntry]:
        return {name: SetEntry(**e) for name, e in sorted(self._read()["submissions"].items())}

    def entry(self, name: str) -> SetEntry:
        if name == REAL:
            if self.real is None:
                raise KeyError("the workspace has no real set yet")
            return self.real
        try:
            return self.submissions[name]
        except KeyError:
            raise KeyError(f"no submission named {name!r} in workspace {self.root}") from None

    def archive_path(self, name: str) -> Path:
        return self.root / self.entry(name).archive

    def report(self, name: str) -> dict:
        return json.loads((self.root / "reports" / f"{self.entry(name).sha256}.json").read_text())

    def add_archive(self, name: str, source: str | Path, filename: str | None = None,
                    move: bool = False) -> tuple[SetEntry, ValidationReport]:
        """Validate ``source`` and register it as the real set (``name == 'real'``) or a submission.

        The archive is copied (moved, with ``move=True``, for files made for the workspace) into
        ``archives/`` under its sha256 first, so the stored copy is exactly what was validated.
        Raises ArchiveError (archive refused, or no valid case) and ValueError (bad team name);
        in both cases the workspace is left as it was. Re-adding a name replaces that set.
        """
        source = Path(source)
        filename = filename or source.name
        if name != REAL:
            name = check_team_name(name)
        suffix = upload_suffix(filename)
        sha = file_sha256(source)
        stored = self.root / "archives" / f"{sha}{suffix}"
        newly_stored = not stored.exists()
        if newly_stored:
            if move:
                os.replace(source, stored)
            else:
                tmp = stored.with_name(stored.name + f".{os.getpid()}.partial")
                shutil.copyfile(source, tmp)
                os.replace(tmp, stored)
        try:
            try:
                case_set, report = read_cases(stored, name=filename)
            except ArchiveError as exc:  # name the file as the user knows it, not its stored hash
                raise ArchiveError(filename, exc.reason) from None
            report.source = filename
            if len(case_set) == 0:
                raise ArchiveError(filename, f"no valid case found ({len(report.rejected)} rejected: "
                                             f"{report.rejected[0].reason if report.rejected else 'none'})")
            if name == REAL and len(case_set) < 2:
                raise ArchiveError(filename, f"the real set needs at least 2 valid cases, found {len(case_set)}")
        except Exception:
            if newly_stored and not self._is_referenced(sha):
                stored.unlink(missing_ok=True)
            raise
        report_json = report.to_json() | {"accepted_cases": [cid for cid, _ in report.accepted], "filename": filename}
        (self.root / "reports" / f"{sha}.json").write_text(json.dumps(report_json, indent=2))
        entry = SetEntry(name=name, archive=str(stored.relative_to(self.root)), sha256=sha, filename=filename,
                         n_accepted=len(case_set), n_rejected=len(report.rejected), added_at=time.time())

        replaced: list[dict] = []

        def change(data: dict) -> None:
            if name == REAL:
                replaced.append(data["real"])
                data["real"] = entry.to_json()
            else:
                replaced.append(data["submissions"].get(name))
                data["submissions"][name] = entry.to_json()
        self._update(change)
        self._drop_if_unreferenced(replaced[0])
        return entry, report

    def _drop_if_unreferenced(self, old: dict | None) -> None:
        """Delete a replaced or removed set's stored archive once no set refers to it."""
        if old and not self._is_referenced(old["sha256"]):
            (self.root / old["archive"]).unlink(missing_ok=True)

    def _is_referenced(self, sha: str) -> bool:
        data = self._read()
        entries = list(data["submissions"].values()) + ([data["real"]] if data["real"] else [])
        return any(e["sha256"] == sha for e in entries)

    def remove_submission(self, name: str) -> None:
        """Unregister a submission; its archive stays until no set refers to it."""
        entry = self.entry(name)
        self._update(lambda data: data["submissions"].pop(name, None))
        self._drop_if_unreferenced(entry.to_json())

    def case_set(self, name: str) -> CaseSet:
        case_set, _ = read_cases(self.archive_path(name), name=name)
        return case_set

    def set_names(self) -> list[str]:
        return ([REAL] if self.real else []) + list(self.submissions)

    @property
    def cache_dir(self) -> Path:
        return self.root / "cache"

    @property
    def reader_db(self) -> Path:
        return self.root / "reader_study.sqlite"

    @property
    def gan_runs_dir(self) -> Path:
        return self.root / "gan_runs"


def open_demo_workspace(root: str | Path | None = None, seed: int = 0,
                        progress: Callable[[int, int | None, str], None] | None = None,
                        **demo_options) -> Workspace:
    """The built-in demo workspace: phantom real set and the demo submissions, built on first use.

    ``demo_options`` go to ``gan_eval.demo.build_demo`` (size, n_real, n_cases, n_small, workers;
    by default all cores render).
    """
    from .demo import DEMO_SUBMISSIONS, REAL_CASES, SMALL_CASES, SUBMISSION_CASES, build_demo, default_workers

    demo_options.setdefault("workers", default_workers())
    n_sets = len(DEMO_SUBMISSIONS) - 1  # the 1000-case ones; "small" is counted on its own
    total = (demo_options.get("n_real", REAL_CASES) + n_sets * demo_options.get("n_cases", SUBMISSION_CASES)
             + demo_options.get("n_small", SMALL_CASES))

    ws = Workspace(root or default_home() / "demo")
    missing = [name for name in [REAL, *DEMO_SUBMISSIONS] if name not in ws.set_names()]
    if not missing:
        return ws
    staging = ws.root / "demo_staging"
    # One stage name for the whole build, so the job's rate and time left span all of it.
    report = (lambda message, fraction: progress(round(fraction * total), total, "building the demo cases")) \
        if progress else None
    paths = build_demo(staging, seed=seed, progress=report, **demo_options)
    for name in missing:
        ws.add_archive(name, paths[name], filename=paths[name].name, move=True)
    shutil.rmtree(staging, ignore_errors=True)
    return ws
