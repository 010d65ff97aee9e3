"""Published results: immutable, content-addressed snapshots of a workspace's evaluation.

Publishing freezes the official results. A snapshot holds everything the jury's numbers depend
on and everything needed to show them again without the archives or a model:

- the inputs: every set's name, the file name it was uploaded as, its sha256, its case counts;
- the backbone and its weights fingerprint, the preprocessing version, the code version
  (``gan_eval.__version__`` and the metric registry's version), the seed and FID_max;
- every metric: the evaluation JSON with the reader study folded in (``service.leaderboard``);
- the reading: every rating kept (reader, item, team, case, criterion, value, time, whether it
  counts), the readers, the qualitative scores, criterion means, agreement;
- figures that would otherwise need the archives: each team's selected cases as thumbnails and the
  PCA map's coordinates, stored beside the snapshot under ``assets/<sha256>.<ext>`` and named in
  it by their sha256;
- the time, and the snapshot's own ``digest``: the sha256 of its canonical JSON without that field.

Layout in the workspace::

    <ws>/published/<digest>.json         one file per snapshot, written once, never overwritten
    <ws>/published/assets/<sha256>.png   thumbnails (and the map as .json), content-addressed
    <ws>/published/latest                the digest of the snapshot published last

Reading a snapshot back checks its digest (and the name of its file) and each asset's sha256: a
snapshot edited after publishing raises :class:`SnapshotError` naming the file. Publishing is
refused while reading is open (:class:`PublishError`), so published ratings can no longer change.

Adding, removing or re-scoring a set afterwards changes nothing published: the workspace is then
a *draft* (:func:`current_state`) until it is published again, and :func:`latest` still returns
the official snapshot. :func:`build` makes the same record for the current state without writing
anything, for the draft report.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Mapping

from . import __version__
from .preprocess import PREPROCESSING_VERSION
from .store import atomic_write_bytes, atomic_write_text
from .workspace import REAL, Workspace

FORMAT = "gan_eval-snapshot/1"
PUBLISHED_DIR = "published"
ASSETS_DIR = "assets"
LATEST_FILE = "latest"
THUMBNAIL_HEIGHT = 96          # px: sharp enough on paper, ~10-30 kB a case
MAP_METHOD = "pca"             # fast and deterministic; t-SNE/UMAP stay in the app
PUBLISHED, DRAFT = "published", "draft"
_DIGEST = re.compile(r"^[0-9a-f]{64}$")


class PublishError(ValueError):
    """Publishing was refused (reading still open, an evaluation not of this workspace)."""


class SnapshotError(ValueError):
    """A stored snapshot (or one of its assets) is unreadable or does not match its digest."""


@dataclass(frozen=True)
class Snapshot:
    """A snapshot record (plain JSON data) and its assets ({sha256: bytes}).

    ``path`` is the file it was read from or written to; None for a draft built in memory.
    """

    record: dict
    assets: Mapping[str, bytes] = field(default_factory=dict)
    path: Path | None = None

    @property
    def digest(self) -> str:
        return self.record["digest"]

    @property
    def status(self) -> str:
        return self.record["status"]

    @property
    def is_draft(self) -> bool:
        return self.record["status"] == DRAFT

    @property
    def published_at(self) -> str:
        return self.record["published_at"]

    @property
    def result(self) -> dict:
        """The evaluation JSON with the reader study folded in, as frozen."""
        return self.record["result"]

    def asset(self, sha256: str | None) -> bytes | None:
        return None if sha256 is None else self.assets.get(sha256)


# ------------------------------------------------------------------------------------ canonical form

def canonical_json(body: object) -> bytes:
    """The bytes a digest is taken of: sorted keys, no spaces, UTF-8, no NaN."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def snapshot_digest(record: Mapping) -> str:
    """sha256 of the record's canonical JSON without its ``digest`` field."""
    return hashlib.sha256(canonical_json({k: v for k, v in record.items() if k != "digest"})).hexdigest()


def _plain(value: object) -> object:
    """``value`` as JSON would give it back (tuples become lists, keys strings)."""
    return json.loads(json.dumps(value, allow_nan=False))


# ------------------------------------------------------------------------------------------ paths

def published_dir(ws: Workspace) -> Path:
    return ws.root / PUBLISHED_DIR


def _snapshot_path(ws: Workspace, digest: str) -> Path:
    return published_dir(ws) / f"{digest}.json"


def _asset_path(ws: Workspace, sha256: str, suffix: str) -> Path:
    return published_dir(ws) / ASSETS_DIR / f"{sha256}{suffix}"


# ------------------------------------------------------------------------------------ the record

def _inputs(ws: Workspace, result: dict) -> dict:
    """Every input archive of the evaluation: the real set and each submission (failed included)."""
    scored = list(result["submissions"]) + list(result.get("failed", {}))
    registered = ws.submissions
    missing = sorted(set(scored) - set(registered))
    extra = sorted(set(registered) - set(scored))
    if ws.real is None or missing or extra:
        what = "; ".join(filter(None, [
            "the workspace has no real set" if ws.real is None else "",
            f"scored but no longer registered: {', '.join(missing)}" if missing else "",
            f"registered but not scored: {', '.join(extra)}" if extra else ""]))
        raise PublishError(f"this evaluation is not of the workspace as it is now ({what}): evaluate it again first")

    def entry(e) -> dict:
        return {"name": e.name, "filename": e.filename, "sha256": e.sha256, "n_accepted": e.n_accepted,
                "n_rejected": e.n_rejected, "added_at": e.added_at}

    return {"real": entry(ws.real), "submissions": {name: entry(registered[name]) for name in sorted(scored)}}


def _versions() -> dict:
    from .metrics import registry

    return {"gan_eval": __version__, "metrics": registry.version(), "preprocessing": PREPROCESSING_VERSION}


def _reading(ws: Workspace, result: dict) -> dict:
    """The reader study as it counts for ``result``; blinded (no ratings, no team results) while open."""
    from .reader_scores import CRITERIA
    from .workspace import service

    study = service.reader_study(ws)
    selection = service.reading_pool(ws, result)  # the teams' cases, and the real ones of a Turing test
    closed = study.is_closed()
    reading: dict = {"closed": closed, "criteria": [{"key": c.key, "label": c.label, "question": c.question}
                                                    for c in CRITERIA]}
    if not closed:
        reading["blinded"] = True
        reading["progress"] = {reader: list(p) for reader, p in study.progress_all().items()}
        return reading
    # Every rating kept, stale ones too (``counted`` false): the study's own rows, un-blinded.
    rows = study.stored_ratings(include_stale=True, selected=selection)
    ratings = sorted(({"reader": r.reader, "team": r.team, "case_id": r.case_id, "criterion": r.criterion,
                       "value": int(r.value), "item_id": r.item_id, "rated_at": r.rated_at, "counted": not r.stale}
                      for r in rows),
                     key=lambda r: (r["reader"], r["team"], r["case_id"], r["criterion"]))
    readers: dict[str, dict] = {}
    for r in ratings:
        info = readers.setdefault(r["reader"], {"reader": r["reader"], "first_rating": r["rated_at"],
                                                "last_rating": r["rated_at"], "items": set()})
        info["first_rating"] = min(info["first_rating"], r["rated_at"])
        info["last_rating"] = max(info["last_rating"], r["rated_at"])
        if r["counted"]:
            info["items"].add(r["item_id"])
    agreement = study.agreement(selected=selection)
    reading.update({
        "blinded": False,
        "readers": [{"reader": i["reader"], "first_rating": i["first_rating"], "last_rating": i["last_rating"],
                     "cases_rated": len(i["items"])} for _, i in sorted(readers.items())],
        "ratings": ratings,
        "qualitative": study.qualitative_scores(selected=selection),
        "criterion_means": study.criterion_means(selected=selection),
        "reader_team_scores": study.reader_team_scores(selected=selection),
        "agreement": {"icc": agreement.icc, "kendall_w": agreement.kendall_w, "n_readers": agreement.n_readers,
                      "n_cases": agreement.n_cases, "reason": agreement.reason},
    })
    summary = service.reading_summary(ws, result)
    intervals = summary["agreement"]
    reading["agreement"].update({name: None if i is None else {"estimate": i.estimate, "low": i.low, "high": i.high}
                                 for name, i in (("icc_ci95", intervals.icc), ("kendall_w_ci95", intervals.kendall_w),
                                                 ("krippendorff_alpha", intervals.krippendorff_alpha))})
    reading["qualitative_ci95"] = {team: [i.low, i.high] for team, i in summary["qualitative"].items()}
    if summary["turing"]:
        reading["turing"] = summary["turing"]
    if summary["ceiling"] is not None:
        reading["ceiling"] = {"qualitative": summary["ceiling"].qualitative, "n_readers": summary["ceiling"].n_readers,
                              "n_cases": summary["ceiling"].n_cases}
    return reading


def _thumbnails(ws: Workspace, result: dict, assets: dict[str, bytes]) -> dict:
    """{team: {case_id: sha256 of its thumbnail}} for every selected case, streamed from the archives."""
    from .archives import Rejection, iter_cases
    from .render import thumbnail_png

    out: dict[str, dict[str, str]] = {}
    for team, scores in result["submissions"].items():
        wanted = set(scores.get("selected_cases") or [])
        found: dict[str, str] = {}
        stream = iter_cases(ws.archive_path(team))
        try:
            for case in stream:
                if isinstance(case, Rejection) or case.case_id not in wanted:
                    continue
                png = thumbnail_png(case, height=THUMBNAIL_HEIGHT)
                sha = hashlib.sha256(png).hexdigest()
                assets[sha] = png
                found[case.case_id] = sha
                if len(found) == len(wanted):
                    break
        finally:
            stream.close()
        out[team] = found
    return out


def _map(ws: Workspace, result: dict, assets: dict[str, bytes]) -> dict:
    """The PCA map of the real set and every scored submission (the app's map, from its cache)."""
    from .archives import ArchiveError
    from .cache import EmbeddingCache
    from .evaluation import embed_set
    from .workspace import explore

    teams = list(result["submissions"])
    try:
        embeddings = {name: embed_set(ws, name) for name in [REAL, *teams]}
        points = explore.map_points(result, embeddings, teams)
        coords = points.projection(MAP_METHOD, int(result["seed"]), EmbeddingCache(ws.cache_dir).projections_dir)
    except (ValueError, OSError, ArchiveError) as exc:  # e.g. a backbone's weights gone since scoring
        return {"method": MAP_METHOD, "sha256": None, "error": str(exc)}
    sets: dict[str, dict] = {}
    for name, case_id, (x, y) in zip(points.set_names, points.case_ids, coords.tolist()):
        s = sets.setdefault(name, {"name": name, "case_ids": [], "x": [], "y": []})
        s["case_ids"].append(case_id)
        s["x"].append(round(x, 4))
        s["y"].append(round(y, 4))
    body = canonical_json({"method": MAP_METHOD, "seed": int(result["seed"]), "sets": list(sets.values())})
    sha = hashlib.sha256(body).hexdigest()
    assets[sha] = body
    return {"method": MAP_METHOD, "sha256": sha, "error": None}


def build(ws: Workspace, result: dict, *, status: str = DRAFT, figures: bool = True,
          now: datetime | None = None) -> Snapshot:
    """The snapshot of the workspace's current state for ``result`` (its evaluation), in memory.

    ``status`` is ``"draft"`` (nothing is written; while reading is open the reading stays
    blinded and the selected cases are withheld, so the draft names none of the cases being
    read) or ``"published"`` (what :func:`publish` stores). ``figures=False`` leaves the
    thumbnails and the map out (faster; the report then says they are missing).
    """
    from .workspace import service

    if status not in (DRAFT, PUBLISHED):
        raise ValueError(f"status must be {DRAFT!r} or {PUBLISHED!r}, got {status!r}")
    assets: dict[str, bytes] = {}
    inputs = _inputs(ws, result)
    # While reading is open a draft is an export like any other: it never names the cases being read.
    board = _plain(service.exportable(ws, service.leaderboard(ws, result)))
    record = {
        "format": FORMAT,
        "status": status,
        "published_at": (now or datetime.now(timezone.utc)).astimezone(timezone.utc).isoformat(timespec="seconds"),
        "workspace": ws.root.name,
        "code": _versions(),
        "backbone": {"id": board["backbone"], "weights_fingerprint": board["backbone_fingerprint"]},
        "seed": board["seed"],
        "fid_max": board["fid_max"],
        "settings": board.get("settings", {}),
        "inputs": inputs,
        "result": board,
        "reading": _reading(ws, result),
        "figures": {"thumbnails": _thumbnails(ws, board, assets) if figures else {},
                    "thumbnail_height": THUMBNAIL_HEIGHT,
                    "map": _map(ws, board, assets) if figures else {"method": MAP_METHOD, "sha256": None,
                                                                     "error": "not drawn"}},
    }
    record = _plain(record)
    record["digest"] = snapshot_digest(record)
    return Snapshot(record, assets, None)


# ------------------------------------------------------------------------------------- publishing

def publish(ws: Workspace, result: dict, now: datetime | None = None) -> Snapshot:
    """Freeze the official results of ``result`` (the workspace's current evaluation).

    Writes the assets, then ``published/<digest>.json`` (once: an existing snapshot is never
    rewritten), then the ``latest`` pointer. Publishing results identical to the latest
    snapshot's returns that snapshot. Raises PublishError while reading is open.
    """
    from .workspace import service

    if not service.reader_study(ws).is_closed():
        raise PublishError("Reading is still open: close the reading before publishing, so that the published "
                           "results include the reader study and no rating can change afterwards.")
    if current_state(ws, result) == PUBLISHED:
        return latest(ws)
    snapshot = build(ws, result, status=PUBLISHED, now=now)
    for sha, data in snapshot.assets.items():
        path = _asset_path(ws, sha, _asset_suffix(data))
        if not (path.exists() and _sha256_file(path) == sha):
            atomic_write_bytes(path, data, durable=True)
    path = _snapshot_path(ws, snapshot.digest)
    if not path.exists():
        atomic_write_bytes(path, json.dumps(snapshot.record, indent=1, sort_keys=True, ensure_ascii=False,
                                            allow_nan=False).encode() + b"\n", durable=True)
    stored = load(ws, snapshot.digest)  # what was written is what is read back
    atomic_write_text(published_dir(ws) / LATEST_FILE, snapshot.digest + "\n", durable=True)
    return stored


def _asset_suffix(data: bytes) -> str:
    return ".png" if data.startswith(b"\x89PNG") else ".json"


def _sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------------------------------- reading

def load(ws: Workspace, digest: str, with_assets: bool = True) -> Snapshot:
    """The published snapshot ``digest``, verified; SnapshotError (naming the file) when it was
    changed, is unreadable, or one of its assets is missing or changed. ``with_assets=False``
    reads (and checks) the record only: the numbers, without the figures."""
    if not (isinstance(digest, str) and _DIGEST.match(digest)):
        raise SnapshotError(f"{digest!r} is not a snapshot digest (64 hex digits)")
    path = _snapshot_path(ws, digest)
    try:
        record = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise SnapshotError(f"published snapshot {path} is missing") from None
    except (OSError, ValueError) as exc:
        raise SnapshotError(f"published snapshot {path} is unreadable ({exc}); it was damaged after publishing") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise SnapshotError(f"published snapshot {path} is not a {FORMAT} snapshot")
    try:
        actual = snapshot_digest(record)
    except ValueError as exc:
        raise SnapshotError(f"published snapshot {path} is unreadable ({exc})") from None
    if record.get("digest") != digest or actual != digest:
        raise SnapshotError(f"published snapshot {path} does not match its digest: it was changed after "
                            "publishing, so its results cannot be trusted. Restore the file from a backup "
                            "or publish again.")
    return Snapshot(record, _load_assets(ws, record, path) if with_assets else {}, path)


def _load_assets(ws: Workspace, record: dict, snapshot_path: Path) -> dict[str, bytes]:
    figures = record.get("figures") or {}
    wanted = [sha for cases in (figures.get("thumbnails") or {}).values() for sha in cases.values()]
    if (figures.get("map") or {}).get("sha256"):
        wanted.append(figures["map"]["sha256"])
    assets: dict[str, bytes] = {}
    for sha in wanted:
        candidates = [p for p in (_asset_path(ws, sha, s) for s in (".png", ".json")) if p.exists()]
        if not candidates:
            raise SnapshotError(f"published snapshot {snapshot_path}: its figure {sha[:12]} "
                                f"({published_dir(ws) / ASSETS_DIR}) is missing")
        data = candidates[0].read_bytes()
        if hashlib.sha256(data).hexdigest() != sha:
            raise SnapshotError(f"published snapshot {snapshot_path}: its figure {candidates[0]} does not match "
                                "its digest: it was changed after publishing")
        assets[sha] = data
    return assets


def latest(ws: Workspace, with_assets: bool = True) -> Snapshot | None:
    """The snapshot published last, verified (see :func:`load`); None when nothing was published."""
    pointer = published_dir(ws) / LATEST_FILE
    try:
        digest = pointer.read_text().strip()
    except FileNotFoundError:
        listed = history(ws)
        return load(ws, listed[-1]["digest"], with_assets) if listed else None
    return load(ws, digest, with_assets)


def history(ws: Workspace) -> list[dict]:
    """Every published snapshot, oldest first: ``{"digest", "published_at", "path"}`` (not verified:
    :func:`load` does that)."""
    entries = []
    for path in sorted(published_dir(ws).glob("*.json")):
        if not _DIGEST.match(path.stem):
            continue
        try:
            published_at = json.loads(path.read_bytes()).get("published_at", "")
        except (OSError, ValueError, AttributeError):
            published_at = ""
        entries.append({"digest": path.stem, "published_at": published_at, "path": path})
    return sorted(entries, key=lambda e: (e["published_at"], e["digest"]))


# ------------------------------------------------------------------------------------------ state

def _basis(code: dict, inputs: dict, result: dict, reading: dict) -> bytes:
    """What decides whether two states are the same results: code, inputs, numbers and ratings
    (not the time, the upload times or the figures, which follow from the rest)."""
    sets = {name: [e["sha256"], e["filename"], e["n_accepted"]]
            for name, e in [(REAL, inputs["real"]), *sorted(inputs["submissions"].items())]}
    ratings = reading.get("ratings")
    return canonical_json(_plain({"code": code, "inputs": sets, "result": result, "ratings": ratings}))


def current_state(ws: Workspace, result: dict | None) -> str:
    """``"published"`` when ``result`` (the current evaluation, with the reading as it is now) is
    exactly the latest snapshot's results, else ``"draft"`` (nothing published yet, a set added,
    removed or re-scored since, reading reopened, or ``result`` None)."""
    from .workspace import service

    snapshot = latest(ws, with_assets=False)
    if snapshot is None or result is None:
        return DRAFT
    study = service.reader_study(ws)
    if not study.is_closed():
        return DRAFT
    try:
        inputs = _inputs(ws, result)
    except PublishError:
        return DRAFT
    current = _basis(_versions(), inputs, service.leaderboard(ws, result), _reading(ws, result))
    r = snapshot.record
    return PUBLISHED if current == _basis(r["code"], r["inputs"], r["result"], r["reading"]) else DRAFT
