"""What the exploration pages read: the embedding map (every set, once; hover details, picked
cases, background maps), the report on one case, the leaderboard's layout and cell formats, and
the viewer's zoom. Pure functions of the evaluation and the embeddings; no page, no widget."""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..diagnosis import nearest_real
from ..embedding_set import EmbeddingSet
from ..progress import Progress
from .folder import REAL, Workspace
from .service import is_demo


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


def compute_workspace_maps(ws: Workspace, result: dict, progress: Progress | None = None) -> None:
    """Every map of a scored workspace's sets (``compute_maps``), into its projection cache."""
    from ..cache import EmbeddingCache
    from ..evaluation import embed_set

    embeddings = {name: embed_set(ws, name) for name in [REAL, *result["submissions"]]}
    compute_maps(all_map_points(result, embeddings), ws.seed, EmbeddingCache(ws.cache_dir).projections_dir,
                 progress=progress)


# --------------------------------------------------------------- the leaderboard's columns

# The challenge table: what the jury ranks by, narrow enough for a 1024 px screen. The accuracy
# stays beside the diversity it defines; qualitative and final scores join once reading is closed.
_CHALLENGE_TABLE = ("n", "fid", "fid_score", "loo_accuracy", "diversity_score", "quantitative_score",
                    "qualitative_score", "final_score")
# Groups that are not one metric's (a metric's group is headed by its registry title).
_RANKS_TITLE = "Ranks"
_READING_TITLE = "Qualitative score's 95% interval (readers and cases resampled)"
_ACROSS_TITLE = "Compared across submissions and feature spaces"


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
        groups.append((_RANKS_TITLE, ["quantitative_rank"]))
        shown.add("quantitative_rank")
    for metric in registry.metrics():
        keys = {o.key for o in metric.outputs if o.table}
        cols = [c for c in columns if registry.column_output(c).key in keys and c not in shown and c in present]
        if cols:
            groups.append((metric.heading, cols))
            shown.update(cols)
    # The reader study's columns come with the reading below; "reference" is in the challenge table.
    rest = [c for c in columns if c in present and c not in shown and not registry.column_output(c).reading
            and c != "reference" and any(row.get(c) is not None for row in rows)]
    if rest:  # numbers computed across submissions (the size-fair FID, FRD...): grouped too
        groups.append((_ACROSS_TITLE, rest))
        shown.update(rest)
    if ranked:  # the reading's own numbers beside the scores it gave
        challenge += [c for c in ("reads",) if c in present]
        reading = [c for c in ("qualitative_ci95_low", "qualitative_ci95_high") if c in present]
        if reading:
            groups.insert(0, (_READING_TITLE, reading))
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

