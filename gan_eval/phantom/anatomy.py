"""What one patient's slice is: every organ as shapes in body units, the lesion, tissue contrast
and the pose in the field of view.

An :class:`Anatomy` holds every random choice about one patient and nothing about the image, so
the same patient renders at any size and the three sequences share it exactly. Drawing one is
:mod:`.sampling`; drawing pixels from one is :mod:`.render`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

from .shapes import Blob, Shape, Tube, smooth_union


@dataclass(frozen=True)
class Pose:
    """Where the body sits in the field of view: ``fill`` = body width / image width."""

    fill: float
    angle: float
    shift_x: float
    shift_y: float


@dataclass(frozen=True)
class Trunk:
    """Body outline, subcutaneous fat (thicker anteriorly) and the abdominal wall muscle."""

    body: Blob
    fat: float
    wall: float

    def muscle_sd(self, body_sd: np.ndarray, y: np.ndarray) -> np.ndarray:
        return body_sd + np.float32(self.fat) * (1 - np.float32(0.45 / self.body.b) * y)

    def cavity_sd(self, body_sd: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        # The wall is thickest at the rectus muscles, either side of the anterior midline.
        rectus = np.exp(np.float32(-1 / 0.3**2) * x * x) * np.clip(np.float32(-1 / self.body.b) * y, 0, 1)
        return self.muscle_sd(body_sd, y) + np.float32(self.wall) * (1 + np.float32(0.9) * rectus)


@dataclass(frozen=True)
class Spine:
    """Vertebral body, spinal canal and cord, posterior elements and the paraspinal muscles."""

    vertebra: Blob
    canal: Blob
    cord: Blob
    posterior_elements: tuple[Tube, ...]
    paraspinal: tuple[Blob, ...]


@dataclass(frozen=True)
class Lesion:
    """The MTM-HCC: lobes (smooth union), necrotic core, capsule thickness, and how strongly its
    arterial enhancement varies (the mosaic pattern)."""

    lobes: tuple[Blob, ...]
    necrosis: Blob
    capsule_thickness: float
    heterogeneity: float


@dataclass(frozen=True)
class Anatomy:
    """One patient's slice: shapes in body units, tissue contrast and pose.

    ``liver_carves`` and ``spleen_carves`` are ``(shape, margin)`` pairs removed from the organ
    (neighbours it abuts). ``tissue_gain`` is ``(len(TISSUE_NAMES), 3)``: the per-case
    multiplier of each tissue's signal in each sequence. ``texture_seed`` seeds the anatomical
    texture fields, shared by the three sequences as anatomy is.
    """

    pose: Pose
    level: float  # 0: liver dome, 1: lower liver (kidneys, gallbladder, pancreas)
    trunk: Trunk
    linea_alba: Tube
    spine: Spine
    ribs: tuple[Blob, ...]
    crura: tuple[Tube, ...]
    bowel: tuple[tuple[Blob, str], ...]
    kidneys: tuple[Blob, ...]
    renal_medulla: tuple[Blob, ...]
    renal_sinus: tuple[Blob, ...]
    pancreas: tuple[Tube, ...]
    splenic_vein: tuple[Tube, ...]
    stomach: Blob | None
    stomach_air_level: float
    spleen: Blob
    spleen_carves: tuple[tuple[Shape, float], ...]
    liver_lobes: tuple[Blob, Blob]
    liver_carves: tuple[tuple[Shape, float], ...]
    fissure: Tube
    gallbladder: Blob | None
    portal_veins: tuple[Shape, ...]
    hepatic_veins: tuple[Shape, ...]
    aorta: Blob
    ivc: Blob
    lungs: tuple[Blob, ...]
    lesion: Lesion
    tissue_gain: np.ndarray
    texture_seed: int


def liver_sd(lobe: np.ndarray, other_lobe: np.ndarray, carves: Iterable[tuple[np.ndarray, float]],
             cavity: np.ndarray) -> np.ndarray:
    """The liver from its lobes' fields: smooth union, inside the cavity, neighbours carved out
    with a margin (fat planes)."""
    liver = np.maximum(smooth_union(lobe, other_lobe, 0.08), cavity + np.float32(0.01))
    for field, margin in carves:
        liver = np.maximum(liver, np.float32(margin) - field)
    return liver
