"""The radiomic feature space as a backbone: no network and no weights (``gan_eval.radiomics``).

It takes the same preprocessed batch as the CNN backbones and returns ``(n, 111)`` features,
float32 as the feature store keeps them. Its "weights" are the code: the fingerprint is the
sha256 of ``gan_eval/radiomics.py`` (``registry``), so stored features are recomputed when the
definitions change.
"""

from __future__ import annotations

import numpy as np

from ..radiomics import radiomic_features


def engine(batch: np.ndarray) -> np.ndarray:
    """``(n, 3, 299, 299)`` float32 in [0, 1] -> ``(n, 111)`` float32 radiomic features."""
    return radiomic_features(batch).astype(np.float32)
