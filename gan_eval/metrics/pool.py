"""One submission's real and generated cases stacked, with the matrices several metrics share.

Precision/recall/density/coverage, the 1-NN protocol, the permutation tests and the rank
confidence all need the pooled distance matrix (``distances.PooledDistances``); the matched FID,
FD-infinity, the permutation test and the rank confidence the pooled Gram matrix
(``gram_fid.PoolGram``). For 91 + 1000 cases in 1280-d each costs ~50 ms and 9.5 MB, so each is
computed once per submission, when first asked for, and handed to every metric that needs it
(``registry.SubmissionInputs.pool``). A metric called on its own builds its own. A pool whose
matrices would exceed ``dense_bytes`` each (``distances.DENSE_BYTES``, ~2,000 cases) keeps its
points instead and computes the blocks the metrics ask for.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from gan_eval.metrics.distances import DENSE_BYTES, PooledDistances
from gan_eval.metrics.gram_fid import PoolGram


class Pool:
    """``real`` then ``generated`` (already checked by ``metrics.inputs``), matrices on demand."""

    def __init__(self, real: np.ndarray, generated: np.ndarray, dense_bytes: int = DENSE_BYTES):
        self.real, self.generated, self.dense_bytes = real, generated, dense_bytes

    @cached_property
    def centred(self) -> np.ndarray:
        """The stacked cases centred on their mean: one copy for the distances and the Gram matrix."""
        stacked = np.concatenate([self.real, self.generated])
        stacked -= stacked.mean(axis=0)
        return stacked

    @cached_property
    def distances(self) -> PooledDistances:
        return PooledDistances(self.real, self.generated, self.dense_bytes, self.centred)

    @cached_property
    def gram(self) -> PoolGram:
        return PoolGram(self.centred, len(self.real), self.dense_bytes)
