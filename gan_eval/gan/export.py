"""Export a run's EMA generator as a standard case archive, scored like any team's submission."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import torch

from gan_eval.archives import write_archive
from gan_eval.cases import Case
from gan_eval.features.device import torch_device

from .data import tensor_to_cases
from .model import Generator
from .runs import CHECKPOINT


def load_generator(run_dir: str | Path, device: str = "auto") -> Generator:
    """The run's EMA generator from its last checkpoint, in eval mode."""
    path = Path(run_dir) / CHECKPOINT
    if not path.exists():
        raise FileNotFoundError(f"{run_dir}: no {CHECKPOINT}; the run has not saved a generator yet")
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
             device: str = "auto") -> Path:
    """Write ``n`` cases from the run's EMA generator to ``out_path`` (a standard .zip archive:
    uint16 images, masks when the run learned them, ids gan_0000...). Returns the path."""
    if n < 1:
        raise ValueError(f"generate: n must be >= 1, got {n}")
    G = load_generator(run_dir, device)
    write_archive(generate_cases(G, n, seed, batch_size), out_path)
    return Path(out_path)
