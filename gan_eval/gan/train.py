"""Train the baseline GAN on a few dozen real cases. Reads top to bottom, nanoGPT style.

Hinge loss, a spectrally normalised discriminator (optionally an R1 penalty), DiffAugment on
every discriminator input, a mode-seeking term against collapse, a minibatch std of the lesion
mask that the discriminator reads before augmentation, Adam with two time scales, and
an exponential moving average of the generator that is used for every sample and for export.
All randomness after initialisation comes from one CPU ``torch.Generator`` saved in the
checkpoint, so a resumed run continues exactly where it stopped (same batches, latents and
augmentations), on CPU bit for bit.

Live metrics: every ``metrics_every`` steps the EMA generator's cases for fixed latents are
scored against the real set as the jury scores a submission, through the same
``gan_eval.api.Tracker`` a team's own loop uses, and that generator is kept for export. They
draw on no training randomness, so a run trains the same with or without them.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F

from gan_eval import archives
from gan_eval.api import Evaluator, Tracker
from gan_eval.cases import Case
from gan_eval.features.device import torch_device
from gan_eval.store import atomic_path

from .config import TrainConfig
from .data import cases_to_tensor, sample_grid
from .diffaugment import diff_augment
from .export import generate_cases
from .model import Discriminator, Generator
from .runs import (CHECKPOINT, CONFIG, GENERATORS, SAMPLES, STATUS, append_log, clear_stop, generator_path,
                   read_config, read_json, sample_path, stop_requested, truncate_log, write_json_atomic, write_status)

CHANNELS_LAST = torch.channels_last  # ~1.5x faster convolutions on CPU (oneDNN) than NCHW
SAMPLE_ROWS = 8                    # cases per sample grid
SAMPLE_SEED_OFFSET = 1_000_003     # fixed sample latents come from their own stream, not the training one
METRICS_SEED_OFFSET = 2_000_003    # so do the live metrics' latents


def mode_seeking_penalty(images: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Mode-seeking term (MSGAN, Mao et al., CVPR 2019), smallest when the batch is diverse.

    Pairs the batch's first half with its second: 1 / mean(image distance / latent distance).
    On ~91 real cases the adversarial gradient alone pushes every latent the same way and the
    generator collapses onto one average case; this term makes distinct latents give distinct
    cases. It grows steeply only near collapse, so at a small weight it barely touches fidelity.
    """
    half = len(z) // 2
    image_distance = (images[:half] - images[half:2 * half]).abs().flatten(1).mean(1)
    latent_distance = (z[:half] - z[half:2 * half]).abs().mean(1)
    return 1.0 / ((image_distance / latent_distance).mean() + 1e-5)


def load_real(config: TrainConfig) -> tuple[list[Case], int]:
    """The accepted real cases of ``config.real_path`` and how many were rejected."""
    if not config.real_path:
        raise ValueError("train: no real cases given and config.real_path is empty")
    case_set, report = archives.read_cases(config.real_path)
    if len(case_set) == 0:
        raise ValueError(f"{config.real_path}: no valid case to train on\n{report.summary()}")
    return list(case_set), len(report.rejected)


def _run_config(run_dir: Path, config: TrainConfig | None, resume: bool, steps: int | None,
                device: str | None) -> TrainConfig:
    """The settings of a new run, or those saved in ``run_dir`` for a resumed one."""
    if resume:
        if not (run_dir / CHECKPOINT).exists():
            raise FileNotFoundError(f"{run_dir}: no {CHECKPOINT} to resume from")
        saved = {k: v for k, v in read_config(run_dir).items() if k != "run"}
        overrides = {k: v for k, v in (("steps", steps), ("device", device)) if v is not None}
        return TrainConfig.from_dict({**saved, **overrides})
    if config is None:
        raise ValueError("train: a TrainConfig is needed to start a run (or resume=True)")
    if (run_dir / CHECKPOINT).exists():
        raise FileExistsError(f"{run_dir}: already holds a run; resume it or choose another folder")
    return config


def _save_atomic(save, path: Path) -> None:
    with atomic_path(path) as tmp:
        save(tmp)


def train(run_dir: str | Path, config: TrainConfig | None = None, *, cases: Sequence[Case] | None = None,
          resume: bool = False, steps: int | None = None, device: str | None = None) -> dict:
    """Train (or with ``resume=True`` continue) the run in ``run_dir``; returns the final status.

    ``cases`` are the real cases; by default they are read from ``config.real_path``. On resume
    the settings come from the run's config.json, except ``steps`` and ``device`` if given.
    Stops early, after a checkpoint, when a STOP file appears (see runs.request_stop).
    """
    run_dir = Path(run_dir)
    config = _run_config(run_dir, config, resume, steps, device)
    previous = read_json(run_dir / STATUS) if (run_dir / STATUS).exists() else {}
    created = previous.get("created") or time.time()
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / SAMPLES).mkdir(exist_ok=True)
    # Until the checkpoint is loaded, a resumed run is where it stopped (a failure before then,
    # such as a missing real set, must not report step 0).
    step = previous.get("step", 0) if resume else 0

    def status(state: str, **extra) -> dict:
        return write_status(run_dir, state, step, config.steps, created=created, **extra)

    deterministic = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled())
    try:
        status("starting")
        dev = torch_device(config.device)
        # Bit-exact on CPU. CUDA lacks deterministic kernels for some ops used here (nearest
        # upsampling's backward): a GPU run is reproducible only up to float rounding.
        torch.use_deterministic_algorithms(dev.type == "cpu")
        if config.resolution == 256 and dev.type != "cuda":
            raise ValueError("resolution 256 needs a CUDA device; use 64 or 128 on a CPU")
        cases, rejected = (cases, 0) if cases is not None else load_real(config)
        real, with_masks = cases_to_tensor(cases, config.resolution)
        real, channels = real.to(dev, memory_format=CHANNELS_LAST), real.shape[1]
        derived = {"device_used": str(dev), "channels": channels, "with_masks": with_masks, "n_real": len(real),
                   "n_real_rejected": rejected}
        write_json_atomic(run_dir / CONFIG, {**config.to_dict(), "run": derived})
        # The real set's embeddings, from the cache that holds them (a workspace's, for the app).
        # No comparison spaces: the curves are in the workspace's backbone, and each space would add an
        # embedding to every evaluation.
        evaluator = Evaluator(cases, config.backbone, config.backbone_weights, config.cache_dir,
                              device=config.device, compare_in=()) if config.metrics_every else None

        torch.manual_seed(config.seed)
        G = Generator(config.resolution, channels, config.z_dim, config.width).to(dev, memory_format=CHANNELS_LAST)
        D = Discriminator(config.resolution, channels, config.width, config.lesion_std).to(
            dev, memory_format=CHANNELS_LAST)
        G_ema = copy.deepcopy(G).requires_grad_(False)
        opt_g = torch.optim.Adam(G.parameters(), lr=config.lr_g, betas=(config.beta1, config.beta2))
        opt_d = torch.optim.Adam(D.parameters(), lr=config.lr_d, betas=(config.beta1, config.beta2))
        rng = torch.Generator().manual_seed(config.seed)
        fixed_z = torch.randn(SAMPLE_ROWS, config.z_dim,
                              generator=torch.Generator().manual_seed(config.seed + SAMPLE_SEED_OFFSET)).to(dev)
        elapsed = 0.0
        if resume:
            checkpoint = torch.load(run_dir / CHECKPOINT, map_location="cpu", weights_only=True)
            if checkpoint["channels"] != channels:
                raise ValueError(f"{run_dir}: the checkpoint has {checkpoint['channels']} channels but the real "
                                 f"set now gives {channels} (masks added or removed?)")
            for module, key in ((G, "G"), (D, "D"), (G_ema, "G_ema"), (opt_g, "opt_g"), (opt_d, "opt_d")):
                module.load_state_dict(checkpoint[key])
            rng.set_state(checkpoint["rng"])
            step, elapsed = checkpoint["step"], checkpoint["elapsed_s"]
            truncate_log(run_dir, step)  # drop lines logged after the checkpoint by a killed process
        tracker = Tracker(run_dir, evaluator, seed=config.seed) if evaluator else None

        def save_checkpoint() -> None:
            state = {"step": step, "elapsed_s": elapsed, "config": config.to_dict(), "channels": channels,
                     "G": G.state_dict(), "D": D.state_dict(), "G_ema": G_ema.state_dict(),
                     "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(), "rng": rng.get_state()}
            _save_atomic(lambda tmp: torch.save(state, tmp), run_dir / CHECKPOINT)

        def save_samples() -> None:
            with torch.no_grad():
                grid = sample_grid(G_ema(fixed_z))
            _save_atomic(lambda tmp: grid.save(tmp, format="PNG"), sample_path(run_dir, step))

        def log_metrics() -> None:
            """Keep the EMA generator, and score its cases for the fixed metric latents."""
            state = {"step": step, "config": config.to_dict(), "channels": channels, "G_ema": G_ema.state_dict()}
            (run_dir / GENERATORS).mkdir(exist_ok=True)
            _save_atomic(lambda tmp: torch.save(state, tmp), generator_path(run_dir, step))
            cases_now = generate_cases(G_ema, config.metrics_samples, seed=config.seed + METRICS_SEED_OFFSET)
            tracker.log(step, list(cases_now), elapsed_s=elapsed)

        if not resume:
            _save_atomic(lambda tmp: sample_grid(real[:SAMPLE_ROWS]).save(tmp, format="PNG"),
                         run_dir / SAMPLES / "real.png")
            save_samples()
            save_checkpoint()  # step 0: an untrained run can already be exported or resumed
            if tracker:
                log_metrics()  # the curves start from the untrained generator

        status("running", device=str(dev))
        batch, policy = config.batch_size, config.policy
        session_start, logged_time, logged_step = time.perf_counter(), time.perf_counter(), step
        elapsed_before = elapsed
        while step < config.steps and not stop_requested(run_dir):
            real_batch = real[torch.randint(len(real), (batch,), generator=rng).to(dev)]
            z = torch.randn(batch, config.z_dim, generator=rng).to(dev)
            fake = G(z)

            # Discriminator: hinge loss on augmented real and fake images. Two passes, not one on
            # the concatenation: the minibatch-std layer must see a real batch and a fake batch
            # apart, or a batch of identical fakes hides among the reals' spread.
            # D also reads each batch before augmentation, for its lesion spread (model.Discriminator).
            real_input = diff_augment(real_batch, policy, rng).requires_grad_(config.r1_gamma > 0)
            real_logits = D(real_input, real_batch)
            fake_logits = D(diff_augment(fake.detach(), policy, rng), fake.detach())
            loss_d = F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()
            if config.r1_gamma > 0:  # R1: penalise the gradient on (augmented) real images
                (grad,) = torch.autograd.grad(real_logits.sum(), real_input, create_graph=True)
                r1 = grad.pow(2).flatten(1).sum(1).mean()
                loss_d = loss_d + config.r1_gamma / 2 * r1
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()

            # Generator: fool the updated discriminator with the same fakes, augmented anew.
            D.requires_grad_(False)
            loss_g = -D(diff_augment(fake, policy, rng), fake).mean()
            if config.mode_seeking > 0:
                loss_g = loss_g + config.mode_seeking * mode_seeking_penalty(fake, z)
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
            D.requires_grad_(True)

            # EMA of the generator; short warm-up so early samples are not the random init.
            decay = min(config.ema_decay, (1 + step) / (10 + step))
            with torch.no_grad():
                for p_ema, p in zip(G_ema.parameters(), G.parameters()):
                    p_ema.lerp_(p, 1 - decay)
            step += 1
            elapsed = elapsed_before + time.perf_counter() - session_start

            if step % config.log_every == 0 or step == config.steps:
                now = time.perf_counter()
                rate = (step - logged_step) / max(now - logged_time, 1e-9)
                logged_time, logged_step = now, step
                record = {"step": step, "time": time.time(), "elapsed_s": elapsed, "steps_per_s": rate,
                          "loss_d": loss_d.item(), "loss_g": loss_g.item()}
                if config.r1_gamma > 0:
                    record["r1"] = r1.item()
                append_log(run_dir, record)
                status("running", device=str(dev), steps_per_s=rate, eta_s=(config.steps - step) / rate)
            if step % config.sample_every == 0 or step == config.steps:
                save_samples()
            if step % config.checkpoint_every == 0 or step == config.steps:
                save_checkpoint()
            if tracker and (step % config.metrics_every == 0 or step == config.steps):
                log_metrics()

        if step < config.steps:  # stopped by request: keep everything up to here
            save_checkpoint()
            save_samples()
            clear_stop(run_dir)
            return status("stopped", device=str(dev))
        return status("finished", device=str(dev))
    except Exception as error:
        status("failed", error=f"{type(error).__name__}: {error}")
        raise
    finally:
        torch.use_deterministic_algorithms(deterministic[0], warn_only=deterministic[1])
