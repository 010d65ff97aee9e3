"""A workspace: one folder on disk holding everything an evaluation needs.

    <root>/workspace.json        settings (backbone, seed) and the registered sets
    <root>/archives/<sha256>.*   uploaded archives, stored by content hash (never overwritten)
    <root>/reports/<sha256>.json their validation reports
    <root>/cache/                the one cache (gan_eval.cache): embeddings, evaluations keyed by
                                 everything that determines them, 2D maps
    <root>/reader_study.sqlite   blinded reader scores
    <root>/access.sqlite         invited readers (token hashes), jury mode
    <root>/audit.jsonl           organiser actions, append-only
    <root>/gan_runs/             baseline GAN runs

A set is validated before it is registered; a refused archive changes nothing that was stored.
``workspace.json`` is rewritten atomically (gan_eval.store) under a file lock, so two processes
(the app and a CLI, say) never lose each other's changes.
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

from ..archives import (ArchiveError, ValidationReport, accepted_cases, iter_cases, read_cases, upload_suffix,
                        validate, write_archive)
from ..archives.stored import StoredCases
from ..cases import CaseSet
from ..store import atomic_copy, atomic_write_text, file_sha256, scratch_path

DEFAULT_BACKBONE = "efficientnet-lite0"
REAL = "real"
BASELINE = "baseline-gan"  # the baseline GAN's cases: always a reference set, never a competitor
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
    source_sha256: str | None = None  # of the file as uploaded (what a team can check); None before it was kept
    standard: bool = False            # stored as the standard archive the workspace wrote (random access)

    def to_json(self) -> dict:
        return dict(self.__dict__)


def _place(source: Path, path: Path, move: bool) -> None:
    """Put the upload at ``path`` (a name with its suffix) without copying its bytes when possible."""
    if move:
        os.replace(source, path)
        return
    try:
        os.link(source, path)
    except OSError:  # another file system, or links not allowed
        shutil.copyfile(source, path)


def _rewrite(source: Path, out: Path, filename: str) -> ValidationReport:
    """Stream ``source``'s accepted cases into the standard archive ``out``; the validation report
    (named after the file as the user knows it, not its stored hash)."""
    report = ValidationReport(source=filename)
    try:
        # Each case deflated only when that pays (archives.writing): noisy MRI is stored as is (deflating
        # it ran the upload path at ~20 cases/s at 256 px), flat images are compressed (a few MB of
        # zeros must not become gigabytes on disk).
        write_archive(accepted_cases(iter_cases(source), report), out)
    except ArchiveError as exc:
        raise ArchiveError(filename, exc.reason) from None
    return report


def _same_cases(rewritten: Path, report: ValidationReport) -> bool:
    """Whether the standard archive reads back as exactly the accepted cases, ids and order."""
    try:
        again = validate(rewritten)
    except ArchiveError:
        return False
    return not again.rejected and [cid for cid, _ in again.accepted] == [cid for cid, _ in report.accepted]


class SetExistsError(ValueError):
    """A set of that name (or one differing only in case or spaces) exists; replacing it must be asked for."""


def check_team_name(name: str) -> str:
    name = " ".join(name.split())
    if not _NAME_RE.match(name):
        raise ValueError(
            f"team name {name!r} is not allowed: use 1-64 letters, digits, spaces, '_', '-' or '.', starting with a letter or digit"
        )
    if name.casefold() == REAL:
        raise ValueError("team name 'real' is reserved for the real set")
    return name


class Workspace:
    def __init__(self, root: str | Path):
        self.root = Path(root)
        for sub in ("archives", "reports", "cache", "gan_runs"):
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
        atomic_write_text(self._settings_path, json.dumps(data, indent=2, sort_keys=True), durable=True)

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

    @property
    def reference_sets(self) -> set[str]:
        """Sets scored and shown but not competing (left out of FID_max and the ranks): the
        baseline GAN's, and any the organiser marked."""
        return set(self._read().get("reference", [])) | {BASELINE}

    def set_reference(self, name: str, reference: bool) -> None:
        self.entry(name)  # a KeyError naming the set if there is none
        if name == BASELINE and not reference:
            raise ValueError(f"{BASELINE!r} is the organiser's own baseline: it never competes")

        def change(data: dict) -> None:
            marked = set(data.get("reference", []))
            data["reference"] = sorted(marked | {name} if reference else marked - {name})
        self._update(change)

    @property
    def max_training_runs(self) -> int:
        """How many baseline GAN runs may train at once (each takes the CPU's cores)."""
        return int(self._read().get("max_training_runs", 1))

    def set_max_training_runs(self, n: int) -> None:
        if not (isinstance(n, int) and 1 <= n <= 16):
            raise ValueError(f"max_training_runs must be an integer from 1 to 16, got {n!r}")
        self._update(lambda data: data.__setitem__("max_training_runs", n))

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
                    move: bool = False, replace: bool = False) -> tuple[SetEntry, ValidationReport]:
        """Validate ``source`` and register it as the real set (``name == 'real'``) or a submission.

        What is stored is what was read: the accepted cases re-written as the standard archive
        (``write_archive``: pixels and masks only, so DICOM tags and anything else in the upload
        never reach the disk), streamed one case at a time. Only when the cases' ids cannot be
        archive entry names (a stacked array's ids may hold anything) is the upload itself kept:
        such inputs hold nothing but arrays. The upload's own sha256 is kept in the entry.

        Raises ArchiveError (archive refused, or no valid case), ValueError (bad team name),
        SetExistsError (the name is taken and ``replace`` is false, or it differs from a
        registered name only in case or spaces) and DiskFullError; in every case the workspace
        is left as it was. A set is replaced only with ``replace=True``, never by a name collision.
        """
        source = Path(source)
        filename = filename or source.name
        if name != REAL:
            name = check_team_name(name)
        self._check_replacement(name, replace)
        suffix = upload_suffix(filename)  # the suffix tells a numpy .npz from a zip container
        source_sha = file_sha256(source)
        with scratch_path(self.root / "incoming", suffix) as named, \
                scratch_path(self.root / "incoming", ".zip") as rewritten:
            _place(source, named, move)
            report = _rewrite(named, rewritten, filename)
            if len(report.accepted) == 0:
                raise ArchiveError(filename, f"no valid case found ({len(report.rejected)} rejected: "
                                             f"{report.rejected[0].reason if report.rejected else 'none'})")
            if name == REAL and len(report.accepted) < 2:
                raise ArchiveError(filename, f"the real set needs at least 2 valid cases, found {len(report.accepted)}")
            kept = rewritten if _same_cases(rewritten, report) else named
            sha = file_sha256(kept)
            stored = self.root / "archives" / f"{sha}{'.zip' if kept == rewritten else suffix}"
            if not stored.exists():
                atomic_copy(kept, stored, move=True)
        report_json = report.to_json() | {"accepted_cases": [cid for cid, _ in report.accepted], "filename": filename}
        atomic_write_text(self.root / "reports" / f"{sha}.json", json.dumps(report_json, indent=2))
        entry = SetEntry(name=name, archive=str(stored.relative_to(self.root)), sha256=sha, filename=filename,
                         n_accepted=len(report.accepted), n_rejected=len(report.rejected), added_at=time.time(),
                         source_sha256=source_sha, standard=kept == rewritten)

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

    def _check_replacement(self, name: str, replace: bool) -> None:
        existing = self.set_names()
        twins = [n for n in existing if n != name and n.casefold() == name.casefold()]
        if twins:
            raise SetExistsError(f"{name!r} differs from the registered set {twins[0]!r} only in case; "
                                 f"use {twins[0]!r} to replace it, or another name")
        if name in existing and not replace:
            what = "a real set" if name == REAL else f"a submission named {name!r}"
            raise SetExistsError(f"the workspace already has {what}: confirm replacing it")

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

    def team_colours(self) -> dict[str, str]:
        """Each submission's map colour, assigned once (in the order teams were added, from the
        colour-blind-safe ``gan_eval.palette``) and stored in ``workspace.json``, so that adding or
        removing a team never recolours the others. Removed teams keep theirs for a re-upload."""
        from ..palette import assign_colours

        def order(data: dict) -> list[str]:
            return sorted(data["submissions"], key=lambda n: (data["submissions"][n]["added_at"], n))

        data = self._read()
        if all(name in data.get("colours", {}) for name in data["submissions"]):
            return {name: data["colours"][name] for name in data["submissions"]}

        def change(data: dict) -> None:
            data["colours"] = assign_colours(data.get("colours", {}), order(data))
        data = self._update(change)
        return {name: data["colours"][name] for name in data["submissions"]}

    def case_set(self, name: str) -> CaseSet | StoredCases:
        """The cases of a set: read one at a time on demand from a standard archive (memory flat in
        the set's size), else all at once."""
        if self.entry(name).standard:
            return StoredCases(self.archive_path(name), name)
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

    @property
    def access_db(self) -> Path:
        """Invited readers (gan_eval.access.Invites)."""
        return self.root / "access.sqlite"

    @property
    def audit_log(self) -> Path:
        """Organiser actions, one JSON line each (gan_eval.access.AuditLog)."""
        return self.root / "audit.jsonl"
