"""Which device runs: one resolution for embedding and for GAN training and generation.

Values (``device=``, the CLI's ``--device``):
- ``"auto"``: ``"cuda"`` when torch sees a GPU, else ``"cpu"``.
- ``"cpu"``: the CPU. Embedding runs ONNX Runtime there (gan_eval.features.engines); torch-only
  code (the GAN) runs torch.
- ``"cpu-torch"``: the CPU through torch, for embedding the reference engine; for torch-only code
  the same as ``"cpu"``.
- ``"cuda"`` / ``"cuda:N"``: that GPU, through torch.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

DEVICES = ("auto", "cpu", "cpu-torch", "cuda")


def check_device(device: str) -> str:
    """Validate a ``device=`` value without importing torch (a warm run never needs it)."""
    if device in DEVICES or (device.startswith("cuda:") and device[5:].isdigit()):
        return device
    raise ValueError(f"unknown device {device!r}; choose one of auto, cpu, cpu-torch, cuda, cuda:N")


def _no_gpu_driver() -> bool:
    """True on Linux without NVIDIA (or WSL GPU) device nodes: then there is no CUDA, and asking
    torch would cost its import (seconds) on a run that may only need ONNX Runtime."""
    return sys.platform == "linux" and not any(os.path.exists(p) for p in ("/dev/nvidiactl", "/dev/dxg"))


def resolve_device(device: str = "auto") -> str:
    """The device that runs: 'auto' becomes 'cuda' when torch sees a GPU, else 'cpu'; a CUDA
    device that torch cannot see is a ValueError."""
    device = check_device(device)
    if device in ("cpu", "cpu-torch") or (device == "auto" and _no_gpu_driver()):
        return "cpu" if device == "auto" else device
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but torch sees no CUDA GPU (CUDA is not available); "
                         "use 'cpu' or 'auto'")
    return device


def torch_device(device: str = "auto") -> "torch.device":
    """``resolve_device`` as a torch.device, for code that only runs torch ('cpu-torch' is the CPU)."""
    import torch

    resolved = resolve_device(device)
    return torch.device("cpu" if resolved == "cpu-torch" else resolved)
