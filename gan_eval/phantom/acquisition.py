"""What the scanner adds to a noiseless rendering: coil bias, ghosting and Rician noise, then
storage as uint16.

Kept apart from the anatomy and its rendering, and drawn from the seed's own acquisition stream
(the anatomy has another), so a patient's anatomy never depends on how it was acquired: an
inconsistent case shows other seeds' patients under its own seed's bias field and noise.
"""

from __future__ import annotations

import numpy as np


def acquire(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """What the scanner adds to a noiseless ``(3, H, W)`` rendering: a smooth multiplicative coil
    bias field (mostly shared by the sequences), faint respiratory ghosting along the
    phase-encoding (AP) axis, and Rician noise (the magnitude of complex Gaussian noise)."""
    size = images.shape[-1]
    signal = images * _bias_field(rng, size)
    sigma = np.float32(rng.uniform(22.0, 40.0)) * np.array([1.0, 1.0, 1.3], dtype=np.float32)[:, None, None]
    ghost = np.float32(rng.uniform(0.0, 0.03)) * np.array([0.6, 0.6, 1.0], dtype=np.float32)[:, None, None]
    noise = rng.standard_normal((2,) + signal.shape, dtype=np.float32)
    noise *= sigma
    real, imag = noise[0], noise[1]  # in place from here on: these are the largest arrays of a case
    real += signal
    real += ghost * np.roll(signal, size // 2, axis=1)
    real *= real
    imag *= imag
    real += imag
    return np.sqrt(real, out=real)


def _bias_field(rng: np.random.Generator, size: int) -> np.ndarray:
    """A ``(3, size, size)`` smooth multiplicative field: a random quadratic surface in log
    signal (about +-12 %, the coil sensitivity), shared, plus a small tilt of each sequence's own.
    Built from outer sums of 1-D profiles: a few full-size operations."""
    u = np.linspace(-1, 1, size, dtype=np.float32)
    a = rng.normal(0.0, 0.09, size=5).astype(np.float32)
    shared = (a[0] * u + a[1] * u * u)[None, :] + (a[2] * u + a[3] * u * u)[:, None] \
        + a[4] * u[:, None] * u[None, :]
    tilt = rng.normal(0.0, 0.04, size=(3, 2)).astype(np.float32)
    log_field = shared[None] + tilt[:, 0, None, None] * u[None, None, :] + tilt[:, 1, None, None] * u[None, :, None]
    return np.exp(log_field)


def to_uint16(images: np.ndarray) -> np.ndarray:
    """Round and clip to the uint16 range in which phantom cases are stored."""
    return np.clip(np.rint(images), 0, 65535).astype(np.uint16)
