"""Baseline GAN: a small data-efficient GAN trained on the real cases, exported like a team.

Modules: ``config`` (TrainConfig), ``model`` (Generator, Discriminator), ``diffaugment``,
``data`` (cases <-> tensors, sample grids), ``train`` (the training loop), ``export``
(``generate``: run -> archive) and ``runs`` (the run folder and the training process; the
Streamlit page needs only this and ``config``, which import no torch).
"""

from .config import TrainConfig
from .runs import (latest_sample, list_runs, list_samples, read_log, read_status, request_stop, resume_run,
                   start_run)

__all__ = ["TrainConfig", "latest_sample", "list_runs", "list_samples", "read_log", "read_status", "request_stop",
           "resume_run", "start_run"]
