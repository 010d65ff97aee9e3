"""The GPU check: one prepared script for a lent device (issue 15 item 5). CI never has a GPU.

    python bench/bench_gpu.py [--cases 5000] [--out DIR]    # on the device, ~5 minutes
    python bench/bench_gpu.py --smoke                        # anywhere, CPU included: ~1 minute

1. **Embedding end to end**: in-memory cases -> the challenge's preprocessing -> the network ->
   features, through ``embed_cases`` (the product's path: float32, no TF32) with the default
   backbone and with inception-v3 (random weights: the same graph and cost as the jury's); cases
   per second, cold (first batch included) and warm.
2. **Reduced precision, measured before it is offered**: the network alone in float32 against
   float16 autocast on the same preprocessed batches; images/s of each, the largest relative
   feature difference, and the FID of generated against real cases in both (goal: >= 5,000
   images/s with |FID change| < 0.1 %).
3. **CUDA against CPU**: the features of the same cases on the device and on the CPU (ONNX
   Runtime): the largest relative difference (the cache keys features by backbone and weights,
   not by device, so they must agree).
4. **GAN training** steps/s at 64, 128 and 256 px (``bench_gan.steps_per_second``).

Prints each number as it comes and writes them all to ``results.json`` in --out (default $OUT,
else bench/out/gpu), so a run cut short by the device's time limit still leaves what it measured.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from gan_eval.features.device import resolve_device  # noqa: E402
from gan_eval.features.embed import embed_cases  # noqa: E402
from gan_eval.features.registry import DEFAULT_BACKBONE  # noqa: E402
from gan_eval.features.weights import resolve_backbone  # noqa: E402
from gan_eval.metrics.fid import frechet_distance  # noqa: E402
from gan_eval.phantom import make_cases  # noqa: E402
from gan_eval.preprocess import preprocess_batch  # noqa: E402


class Results:
    """Every measurement, printed and written to results.json at once."""

    def __init__(self, out: Path, meta: dict):
        self.path, self.values = out / "results.json", {"meta": meta}
        out.mkdir(parents=True, exist_ok=True)
        self.save()

    def add(self, key: str, value) -> None:
        self.values[key] = value
        print(f"{key}: {json.dumps(value)}", flush=True)
        self.save()

    def save(self) -> None:
        self.path.write_text(json.dumps(self.values, indent=2))


def random_inception_weights(folder: Path) -> Path:
    import torch
    import torchvision

    path = folder / "random_inception_v3.pth"
    torch.save(torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=False).state_dict(), path)
    return path


def end_to_end(results: Results, cases, device: str, name: str, weights: Path | None) -> None:
    start = time.perf_counter()
    embed_cases(cases[:64], backbone=name, weights=weights, device=device, cache=False)  # model load, kernels
    warmup_s = time.perf_counter() - start
    start = time.perf_counter()
    embed_cases(cases, backbone=name, weights=weights, device=device, cache=False)
    seconds = time.perf_counter() - start
    results.add(f"embed_end_to_end/{name}/{device}", {"cases": len(cases), "seconds": round(seconds, 3),
                                                      "cases_per_s": round(len(cases) / seconds, 1),
                                                      "first_64_cases_s": round(warmup_s, 3)})


def network_precision(results: Results, real, generated, device: str, name: str, weights: Path | None,
                      batch_size: int) -> None:
    """The network alone on preprocessed batches, float32 against float16 autocast. The FID says
    something only with trained weights (``weights`` None: the backbone's own); random weights
    give near-constant features, so only their speed is reported."""
    import torch

    module = resolve_backbone(name, weights).build().to(device).to(memory_format=torch.channels_last)
    batches = {label: [torch.from_numpy(preprocess_batch([c.images for c in cases[i:i + batch_size]]))
                       for i in range(0, len(cases), batch_size)] for label, cases in (("real", real),
                                                                                      ("generated", generated))}
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    out = {}
    for precision, dtype in (("fp32", None), ("fp16", torch.float16)):
        features, seconds = {}, 0.0
        for label, chunks in batches.items():
            rows = []
            for x in chunks:
                x = x.to(device, non_blocking=True).contiguous(memory_format=torch.channels_last)
                if device.startswith("cuda"):
                    torch.cuda.synchronize()
                start = time.perf_counter()
                with torch.inference_mode(), torch.autocast(device.split(":")[0], dtype=dtype,
                                                            enabled=dtype is not None):
                    y = module(x).float()
                if device.startswith("cuda"):
                    torch.cuda.synchronize()
                seconds += time.perf_counter() - start
                rows.append(y.cpu().numpy())
            features[label] = np.concatenate(rows).astype(np.float64)
        n = sum(len(v) for v in features.values())
        out[precision] = {"images_per_s": round(n / seconds, 1),
                          "fid": frechet_distance(features["real"], features["generated"]), "features": features}
    fp32, fp16 = out["fp32"], out["fp16"]
    trained = weights is None
    difference = max(float(np.abs(fp16["features"][k] - fp32["features"][k]).max() / np.abs(fp32["features"][k]).max())
                     for k in fp32["features"])
    results.add(f"network_precision/{name}/{device}", {
        "batch_size": batch_size, "fp32_images_per_s": fp32["images_per_s"], "fp16_images_per_s": fp16["images_per_s"],
        "fid_fp32": round(fp32["fid"], 4) if trained else None, "fid_fp16": round(fp16["fid"], 4) if trained else None,
        "fid_change_percent": round(100 * (fp16["fid"] - fp32["fid"]) / fp32["fid"], 4) if trained else None,
        "max_relative_feature_difference": difference if trained else None})


def device_against_cpu(results: Results, cases, device: str, name: str, weights: Path | None) -> None:
    on_device = embed_cases(cases, backbone=name, weights=weights, device=device, cache=False).features
    on_cpu = embed_cases(cases, backbone=name, weights=weights, device="cpu", cache=False).features
    results.add(f"device_against_cpu/{name}/{device}", {
        "cases": len(cases), "max_relative_difference": float(np.abs(on_device - on_cpu).max() / np.abs(on_cpu).max())})


def gan_speed(results: Results, device: str, resolutions: tuple[int, ...], steps: int) -> None:
    from bench_gan import steps_per_second

    cases = make_cases(32, seed=0, size=max(resolutions))
    for resolution in resolutions:
        rate = steps_per_second(resolution, device, steps, 16, cases)
        results.add(f"gan_steps_per_s/{device}/{resolution}", {"steps_per_s": round(rate, 2), "batch_size": 16,
                                                              "images_per_s": round(16 * rate, 1)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=5000, help="generated cases embedded end to end")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT") or ROOT / "bench" / "out" / "gpu"))
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, any device: checks the script runs")
    args = parser.parse_args()
    import torch

    device = resolve_device(args.device)
    smoke = args.smoke
    n_cases, n_real, size = (12, 8, 64) if smoke else (args.cases, 91, 256)
    meta = {"device": device, "torch": torch.__version__, "smoke": smoke, "cases": n_cases, "real": n_real,
            "size": size, "gpu": torch.cuda.get_device_name(0) if device.startswith("cuda") else None,
            "cpu_threads": torch.get_num_threads(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    results = Results(args.out, meta)
    print(f"{meta}", flush=True)
    real = make_cases(n_real, seed=1, size=size, prefix="real")
    generated = make_cases(n_cases, seed=2, size=size, prefix="gen")
    with tempfile.TemporaryDirectory() as tmp:
        backbones = [(DEFAULT_BACKBONE, None), ("inception-v3", random_inception_weights(Path(tmp)))]
        for name, weights in backbones:
            end_to_end(results, generated, device, name, weights)
        for name, weights in backbones:
            network_precision(results, real, generated[:min(n_cases, 1000)], device, name, weights,
                              batch_size=16 if smoke else 256)
        if device != "cpu":
            for name, weights in backbones:
                device_against_cpu(results, generated[:32], device, name, weights)
    resolutions = (32,) if smoke else (64, 128) + ((256,) if device.startswith("cuda") else ())
    gan_speed(results, device if device != "cpu-torch" else "cpu", resolutions, steps=8 if smoke else 200)
    print(f"wrote {results.path}")


if __name__ == "__main__":
    main()
