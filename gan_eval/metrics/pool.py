"""One submission's real and generated cases stacked, with the matrices several metrics share.

Precision/recall/density/coverage, the 1-NN protocol, the permutation tests and the rank
confidence all need the pooled distance matrix (``distances.PooledDistances``); the matched FID,
FD-infinity, the permutation test and the rank confidence the pooled Gram matrix
(``gram_fid.PoolGram``). For 91 + 1000 cases in 1280-d each costs ~50 ms and 9.5 MB, so each is
computed once per submission, when first asked for, and handed to every metric that needs it
(``registry.SubmissionInputs.pool``). A metric called on its own builds its own.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from gan_eval.metrics.distances import PooledDistances
from gan_eval.metrics.gram_fid import PoolGram


class Pool:
    """``real`` then ``generated`` (already checked by ``metrics.inputs``), matrices on demand."""

    def __init__(self, real: np.ndarray, generated: np.ndarray):
        self.real, self.generated = real, generated

    @cached_property
    def distances(self) -> PooledDistances:
        return PooledDistances(self.real, self.generated)

    @cached_property
    def gram(self) -> PoolGram:
        return PoolGram(np.concatenate([self.real, self.generated]))
