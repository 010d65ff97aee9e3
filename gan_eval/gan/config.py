"""Training settings of the baseline GAN: one frozen dataclass, saved as a run's config.json.

Kept free of torch so the Streamlit page can build and check a configuration cheaply.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from gan_eval.features.registry import BACKBONES, DEFAULT_BACKBONE

# 32 exists for fast tests; the CLI and the page offer 64, 128 and (with CUDA) 256.
RESOLUTIONS = (32, 64, 128, 256)
AUGMENT_POLICIES = ("translation", "cutout")
DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class TrainConfig:
    real_path: str | None = None        # archive/folder of real cases, read with archives.read_cases
    resolution: int = 64
    steps: int = 3000                   # ~10 CPU minutes at 64x64, where the FID stopped improving (bench/RESULTS.md)
    batch_size: int = 16
    lr_g: float = 1e-4                  # two time-scale updates (TTUR): D learns 4x faster than G ...
    lr_d: float = 4e-4
    beta1: float = 0.0                  # ... and Adam without momentum (SAGAN, BigGAN): with beta1 = 0.5
    beta2: float = 0.999                #     every generator collapsed to one case within 1000 steps
    z_dim: int = 128
    width: int = 8                      # generator/discriminator channels at 64x64 (see model.channel_widths)
    augment: bool = True                # DiffAugment on every discriminator input
    augment_policy: str = "translation,cutout"
    ema_decay: float = 0.999
    r1_gamma: float = 0.0               # R1 penalty weight on real inputs; 0 = spectral norm only
    mode_seeking: float = 0.01          # weight of the mode-seeking term (MSGAN); 0 = off
    # D's minibatch std of the lesion mask, before augmentation, times this (model.Discriminator);
    # 0 = off. DiffAugment hid lesion collapse from D: without mode seeking every lesion went to one
    # place (position spread 0.60 of the real set's, 64x64, 1500 steps), with scale 10 0.95 at the
    # same FID. 10 overshoots at 128x128 (position 2.1, stray mask blobs); 3 gave 0.87 / 1.24 at
    # 64 / 128 (before 0.86 / 0.82), KID 0.394 / 0.404 (before 0.414 / 0.413). At 128x128 after
    # 9000 steps, three seeds: without it the size spread collapsed once (0.60, else 1.10, 1.02);
    # with 3 every spread is 0.80-1.26; FID 143 without, 148 with (mean; seed sd 6-7). bench/RESULTS.md
    lesion_std: float = 3.0
    seed: int = 0
    device: str = "auto"
    sample_every: int = 250
    checkpoint_every: int = 500
    log_every: int = 10
    # Live metrics: every metrics_every steps (0 = never) the EMA generator's cases for fixed
    # latents are scored against the real set like a submission (gan_eval.api.Tracker), and that
    # generator is kept so the best step can be exported. 100 cases is the challenge's 1-NN batch;
    # an evaluation then costs 0.6 s (64x64) to 1.4 s (128x128) on the 2-core CPU, about 4% of the
    # training time at either resolution (bench/RESULTS.md).
    metrics_every: int = 250
    metrics_samples: int = 100
    backbone: str = DEFAULT_BACKBONE    # the embedding of the live metrics: the workspace's, to compare
    backbone_weights: str | None = None
    cache_dir: str | None = None        # embedding cache holding the real set's features (None: the default)

    def __post_init__(self) -> None:
        if self.resolution not in RESOLUTIONS:
            raise ValueError(f"TrainConfig: resolution must be one of {RESOLUTIONS}, got {self.resolution}")
        for name in ("batch_size", "z_dim", "width", "sample_every", "checkpoint_every", "log_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"TrainConfig: {name} must be >= 1, got {getattr(self, name)}")
        for name in ("steps", "metrics_every"):
            if getattr(self, name) < 0:
                raise ValueError(f"TrainConfig: {name} must be >= 0, got {getattr(self, name)}")
        if self.metrics_samples < 2:
            raise ValueError(f"TrainConfig: metrics_samples must be >= 2 (FID needs a spread), "
                             f"got {self.metrics_samples}")
        if self.backbone not in BACKBONES:
            raise ValueError(f"TrainConfig: unknown backbone {self.backbone!r}; known: {', '.join(sorted(BACKBONES))}")
        for name in ("lr_g", "lr_d"):
            if not getattr(self, name) > 0:
                raise ValueError(f"TrainConfig: {name} must be > 0, got {getattr(self, name)}")
        if not (0 <= self.beta1 < 1 and 0 <= self.beta2 < 1 and 0 <= self.ema_decay < 1):
            raise ValueError("TrainConfig: beta1, beta2 and ema_decay must lie in [0, 1)")
        for name in ("r1_gamma", "mode_seeking", "lesion_std"):
            if getattr(self, name) < 0:
                raise ValueError(f"TrainConfig: {name} must be >= 0, got {getattr(self, name)}")
        if self.mode_seeking > 0 and self.batch_size < 2:
            raise ValueError("TrainConfig: mode_seeking compares pairs of generated cases; it needs batch_size >= 2")
        unknown = [p for p in self.policy if p not in AUGMENT_POLICIES]
        if unknown:
            raise ValueError(f"TrainConfig: unknown augment policy {unknown}; known: {AUGMENT_POLICIES}")
        if self.device not in DEVICES and not self.device.startswith("cuda:"):
            raise ValueError(f"TrainConfig: device must be one of {DEVICES} or 'cuda:N', got {self.device!r}")

    @property
    def policy(self) -> list[str]:
        """The augmentations applied to discriminator inputs ([] when augmentation is off)."""
        if not self.augment:
            return []
        return [p.strip() for p in self.augment_policy.split(",") if p.strip()]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        """Build from a dict of settings; an unknown key is an error (it is most likely a typo)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"TrainConfig: unknown settings {unknown}; known: {sorted(known)}")
        return cls(**values)
