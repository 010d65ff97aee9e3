"""Tissue contrast: the signal of every tissue in each sequence, in one table.

The anatomy says which tissue lies where; this table alone says how it looks in T1 arterial,
T1 portal-venous and T2 fat-sat, so the three sequences of a case share one anatomy, exactly
co-registered, and differ in contrast. A case varies the table by its per-tissue, per-sequence gain
(``Anatomy.tissue_gain``), as patients and scanners do.
"""

from __future__ import annotations

import numpy as np

# Tissue signal in T1 arterial, T1 portal-venous and T2 fat-sat, then the amplitude of its fine
# texture. Fat is suppressed in all three; flowing blood is a flow void in T2; contrast reaches
# the aorta, renal cortex and pancreas first (arterial), the portal vein and IVC later.
TISSUES: dict[str, tuple[float, float, float, float]] = {
    "air": (0.0, 0.0, 0.0, 0.0),
    "fat": (330.0, 370.0, 240.0, 0.12),
    "muscle": (640.0, 860.0, 430.0, 0.06),
    "liver": (1000.0, 1450.0, 600.0, 0.05),
    "spleen": (1400.0, 1420.0, 1150.0, 0.05),
    "pancreas": (1550.0, 1300.0, 720.0, 0.08),
    "kidney_cortex": (2500.0, 2150.0, 1250.0, 0.04),
    "kidney_medulla": (800.0, 1950.0, 1650.0, 0.04),
    "bone_cortex": (110.0, 120.0, 100.0, 0.05),
    "marrow": (560.0, 680.0, 520.0, 0.12),
    "csf": (160.0, 190.0, 2500.0, 0.02),
    "cord": (560.0, 610.0, 1050.0, 0.02),
    "aorta": (3500.0, 2150.0, 90.0, 0.02),
    "ivc": (650.0, 1950.0, 120.0, 0.03),
    "portal_vein": (880.0, 2300.0, 110.0, 0.03),
    "hepatic_vein": (600.0, 1800.0, 110.0, 0.03),
    "tumour": (2100.0, 1000.0, 1000.0, 0.07),
    "necrosis": (300.0, 330.0, 2450.0, 0.06),
    "capsule": (1050.0, 2050.0, 620.0, 0.03),
    "fluid": (150.0, 170.0, 2700.0, 0.02),
    "mucosa": (1350.0, 1450.0, 700.0, 0.06),
    "bowel_content": (640.0, 760.0, 1300.0, 0.2),
}
TISSUE_NAMES = tuple(TISSUES)
_TISSUE_TABLE = np.array([TISSUES[name] for name in TISSUE_NAMES], dtype=np.float32)  # (T, 4)
TISSUE_INDEX = {name: i for i, name in enumerate(TISSUE_NAMES)}


def case_tissue_values(gain: np.ndarray) -> np.ndarray:
    """``(4, len(TISSUE_NAMES))``: each tissue's signal in the three sequences scaled by a case's
    ``(len(TISSUE_NAMES), 3)`` gain, then its texture amplitude (the layers of a rendering)."""
    return np.concatenate([_TISSUE_TABLE[:, :3] * gain, _TISSUE_TABLE[:, 3:]], axis=1).T.copy()
