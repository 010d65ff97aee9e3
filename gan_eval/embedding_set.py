"""An embedding set: ``(n, d)`` features of a case set plus what produced them.

Sets from different backbones (or different weights) are never compared: ``check_comparable``
raises with both names in the message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .store import atomic_path


@dataclass
class EmbeddingSet:
    features: np.ndarray          # (n, d) float32
    case_ids: list[str]
    backbone: str                 # registry id, e.g. "efficientnet-lite0"
    fingerprint: str              # weights fingerprint (sha256 prefix of the weights file)
    name: str = ""
    # Per-case cross-sequence anatomy similarity (see metrics.consistency); None if unknown.
    consistency: np.ndarray | None = None
    meta: dict = field(default_factory=dict)
    # Per-case coarse anatomy (see metrics.orientation), (n, 768); None if unknown.
    orientation: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.features = np.asarray(self.features)
        if self.features.ndim != 2:
            raise ValueError(f"{self.name or 'embedding set'}: features must be 2D (n, d), got shape {self.features.shape}")
        if len(self.case_ids) != self.features.shape[0]:
            raise ValueError(
                f"{self.name or 'embedding set'}: {len(self.case_ids)} case ids for {self.features.shape[0]} feature rows"
            )

    def __len__(self) -> int:
        return self.features.shape[0]

    @property
    def dim(self) -> int:
        return self.features.shape[1]

    def save(self, path: str | Path) -> None:
        path = Path(path)
        header = {"backbone": self.backbone, "fingerprint": self.fingerprint, "name": self.name, "meta": self.meta}
        arrays = {"features": self.features, "case_ids": np.array(self.case_ids, dtype=str),
                  "header": np.array(json.dumps(header))}
        if self.consistency is not None:
            arrays["consistency"] = self.consistency
        if self.orientation is not None:
            arrays["orientation"] = self.orientation
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, **arrays)

    @classmethod
    def load(cls, path: str | Path) -> "EmbeddingSet":
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(str(data["header"]))
            return cls(
                features=data["features"],
                case_ids=[str(x) for x in data["case_ids"]],
                backbone=header["backbone"],
                fingerprint=header["fingerprint"],
                name=header.get("name", ""),
                consistency=data["consistency"] if "consistency" in data.files else None,
                meta=header.get("meta", {}),
                orientation=data["orientation"] if "orientation" in data.files else None,
            )


def check_comparable(a: EmbeddingSet, b: EmbeddingSet) -> None:
    """Raise ValueError unless two sets come from the same backbone, weights and dimension."""
    if a.backbone != b.backbone or a.fingerprint != b.fingerprint:
        raise ValueError(
            f"cannot compare embeddings from different backbones: {a.name or 'set A'} uses "
            f"{a.backbone} ({a.fingerprint[:12]}), {b.name or 'set B'} uses {b.backbone} ({b.fingerprint[:12]})"
        )
    if a.dim != b.dim:
        raise ValueError(f"embedding dimensions differ: {a.name or 'set A'} has {a.dim}, {b.name or 'set B'} has {b.dim}")
