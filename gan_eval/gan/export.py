"""Export a run's EMA generator as a standard case archive, scored like any team's submission:
the last checkpoint's, or the one kept at a live-metric evaluation (the best step, say)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import torch

from gan_eval.archives import write_archive
from gan_eval.cases import Case
from gan_eval.features.device import torch_device

from .data import tensor_to_cases
from .model import Generator
from .runs import CHECKPOINT, generator_path


def load_generator(run_dir: str | Path, device: str = "auto", step: int | None = None) -> Generator:
    """The run's EMA generator, in eval mode: from its last checkpoint, or with ``step`` the one
    kept at that step's live-metric evaluation."""
    path = Path(run_dir) / CHECKPOINT if step is None else generator_path(run_dir, step)
    if not path.exists():
        if step is not None:
            raise FileNotFoundError(f"{run_dir}: no generator kept at step {step} ({path.name}); generators are "
                                    f"kept at the live-metric evaluations")
        raise FileNotFoundError(f"{run_dir}: no {CHECKPOINT}; the run has not saved a generator yet")
    # A checkpoint and a kept generator share these keys: config, channels, G_ema.
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    config = checkpoint["config"]
    G = Generator(config["resolution"], checkpoint["channels"], config["z_dim"], config["width"])
    G.load_state_dict(checkpoint["G_ema"])
    return G.to(torch_device(device), memory_format=torch.channels_last).eval().requires_grad_(False)


def generate_cases(G: Generator, n: int, seed: int = 0, batch_size: int = 64, prefix: str = "gan") -> Iterator[Case]:
    """Yield ``n`` cases, batch by batch. All latents are drawn first from one seeded stream,
    so case ``i`` is the same whatever the batch size (up to float rounding: one grey level)."""
    latents = torch.randn(n, G.z_dim, generator=torch.Generator().manual_seed(seed))
    digits = max(4, len(str(n - 1)))
    device = next(G.parameters()).device
    for start in range(0, n, batch_size):
        with torch.no_grad():
            images = G(latents[start:start + batch_size].to(device))
        yield from tensor_to_cases(images, [f"{prefix}_{i:0{digits}d}" for i in range(start, start + len(images))])


def generate(run_dir: str | Path, n: int, out_path: str | Path, seed: int = 0, batch_size: int = 64,
             device: str = "auto", step: int | None = None) -> Path:
    """Write ``n`` cases from the run's EMA generator (the last checkpoint's, or the one kept at
    ``step``) to ``out_path`` (a standard .zip archive: uint16 images, masks when the run learned
    them, ids gan_0000...). Returns the path."""
    if n < 1:
        raise ValueError(f"generate: n must be >= 1, got {n}")
    G = load_generator(run_dir, device, step)
    write_archive(generate_cases(G, n, seed, batch_size), out_path)
    return Path(out_path)
