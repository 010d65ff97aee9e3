"""Embedding throughput end to end, against a plain torch loop in the same run; cold vs warm cache.

    python bench/bench_embed.py [--cases 64] [--inception-cases 32] [--warm-cases 1000] [--size 256]

For each backbone (efficientnet-lite0 with its shipped weights; inception-v3 with randomly
initialised weights written to a temporary file: same graph, same cost) it times, on the same
archive of uint16 cases:
- reference: read the archive (read_cases), the same challenge preprocessing, then the torch
  module in a plain loop as pytorch-fid runs it (eval, no_grad, NCHW, batch 50, default threads);
- gan_eval: ``embed_archive`` on CPU (ONNX Runtime, all threads) with an empty feature cache, which
  also computes each case's consistency. The one-off ONNX export is timed separately.
Then a cold and a warm ``embed_archive`` of a larger archive (default 1000 cases) with the default
backbone: cold in a child process (graph already exported; its peak RSS reported), warm in this
process and in a fresh interpreter. Prints images/s and ratios; writes nothing outside a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gan_eval.archives import read_cases, write_archive  # noqa: E402
from gan_eval.cache import EmbeddingCache  # noqa: E402
from gan_eval.cases import Case  # noqa: E402
from gan_eval.features.embed import embed_archive  # noqa: E402
from gan_eval.features.engines import export_onnx, onnx_checksum_path, onnx_model_name  # noqa: E402
from gan_eval.features.weights import Backbone, resolve_backbone  # noqa: E402
from gan_eval.preprocess import preprocess_batch  # noqa: E402


def phantom_cases(n: int, size: int, seed: int = 0):
    """Smooth anatomy-like uint16 images with noise (compress like MRI, unlike pure noise)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size] / size
    for i in range(n):
        cy, cx = 0.5 + 0.1 * rng.standard_normal(2)
        body = (((yy - cy) ** 2 + (xx - cx) ** 2) < 0.3 ** 2).astype(float)
        texture = np.sin(xx * rng.uniform(5, 20)) * np.cos(yy * rng.uniform(5, 20))
        seqs = [body * (1 + 0.3 * texture), body * (0.8 + 0.5 * texture ** 2), body * (1.2 - 0.4 * texture)]
        noisy = np.stack(seqs) * 1500 + 200 + rng.normal(0, 20, (3, size, size))
        yield Case(f"case_{i:04d}", np.clip(noisy, 0, 65535).astype(np.uint16))


def plain_torch_loop(backbone: Backbone, archive: Path, batch_size: int = 50) -> tuple[float, np.ndarray]:
    import torch

    start = time.perf_counter()
    module = backbone.build()
    cases, _ = read_cases(archive)
    outputs = []
    with torch.no_grad():
        for i in range(0, len(cases), batch_size):
            batch = preprocess_batch([c.images for c in cases.cases[i: i + batch_size]])
            outputs.append(module(torch.from_numpy(batch)).numpy())
    return time.perf_counter() - start, np.concatenate(outputs)


def fresh_cache(root: Path, model_file: Path, label: str) -> EmbeddingCache:
    """An empty feature cache that already holds the exported graph (export timed on its own)."""
    cache = EmbeddingCache(root / label)
    target = cache.model_path(model_file.name)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(model_file, target)
    shutil.copy(onnx_checksum_path(model_file), onnx_checksum_path(target))
    return cache


def bench_backbone(name: str, weights: Path | None, n: int, size: int, tmp: Path) -> Path:
    archive = tmp / f"{name}-{n}.zip"
    write_archive(phantom_cases(n, size), archive)
    backbone = resolve_backbone(name, weights)
    onnx_file = tmp / "export" / onnx_model_name(backbone)
    start = time.perf_counter()
    export_onnx(backbone, onnx_file)
    export_s = time.perf_counter() - start

    ref_s, ref_features = plain_torch_loop(backbone, archive)
    start = time.perf_counter()
    ours = embed_archive(archive, backbone=name, weights=weights, device="cpu", cache=fresh_cache(tmp, onnx_file, name))
    ours_s = time.perf_counter() - start
    rel = np.abs(ours.features - ref_features).max() / np.abs(ref_features).max()
    print(f"{name}: {n} cases {size}x{size}, end to end (read + preprocess + model)")
    print(f"  plain torch loop   {n / ref_s:7.1f} images/s  ({ref_s:.1f} s)")
    print(f"  gan_eval (ORT)     {n / ours_s:7.1f} images/s  ({ours_s:.1f} s)  ratio {ref_s / ours_s:.1f}x")
    print(f"  one-off ONNX export {export_s:.1f} s; max relative feature difference {rel:.1e}")
    return onnx_file


COLD = """
import sys, time
sys.path.insert(0, {root!r})
from gan_eval.features.embed import embed_archive
start = time.perf_counter()
emb = embed_archive({archive!r}, device="cpu", cache={cache!r})
# VmHWM, not ru_maxrss: Linux carries the forking parent's peak into a child's ru_maxrss.
peak_kb = open("/proc/self/status").read().split("VmHWM:")[1].split()[0]
print(time.perf_counter() - start, len(emb), peak_kb)
"""

WARM = """
import sys, time
sys.path.insert(0, {root!r})
from gan_eval.features.embed import embed_archive
emb = embed_archive({archive!r}, device="cpu", cache={cache!r})
print(len(emb), "torch" in sys.modules)
"""


def bench_cold_warm(n: int, size: int, tmp: Path, onnx_file: Path) -> None:
    archive = tmp / f"warm-{n}.zip"
    start = time.perf_counter()
    write_archive(phantom_cases(n, size, seed=1), archive)
    print(f"cold vs warm, efficientnet-lite0, {n} cases {size}x{size} "
          f"({archive.stat().st_size / 1e6:.0f} MB archive written in {time.perf_counter() - start:.1f} s)")
    cache = fresh_cache(tmp, onnx_file, "warm-cache").root
    out = subprocess.run([sys.executable, "-c", COLD.format(root=str(ROOT), archive=str(archive), cache=str(cache))],
                         capture_output=True, text=True, check=True).stdout.split()
    cold_s, count, peak_kb = float(out[0]), int(out[1]), int(out[2])
    print(f"  cold (child process, graph already exported): {cold_s:.1f} s, {count / cold_s:.1f} images/s, "
          f"peak RSS {peak_kb / 1024:.0f} MB")
    times = []
    for _ in range(3):
        start = time.perf_counter()
        embed_archive(archive, device="cpu", cache=cache)
        times.append(time.perf_counter() - start)
    print(f"  warm (in process): best {min(times) * 1000:.0f} ms of 3")
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", WARM.format(root=str(ROOT), archive=str(archive), cache=str(cache))],
                         capture_output=True, text=True, check=True).stdout.split()
    print(f"  warm (fresh interpreter, imports included): {time.perf_counter() - start:.2f} s, "
          f"{out[0]} cases, torch imported: {out[1]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=64)
    parser.add_argument("--inception-cases", type=int, default=32)
    parser.add_argument("--warm-cases", type=int, default=1000)
    parser.add_argument("--size", type=int, default=256)
    args = parser.parse_args()
    import torch
    import torchvision

    print(f"machine: {os.cpu_count()} CPU threads; torch {torch.__version__}, default threads "
          f"{torch.get_num_threads()}; load average {os.getloadavg()[0]:.1f} at start")
    with tempfile.TemporaryDirectory(prefix="bench_embed_") as folder:
        tmp = Path(folder)
        efficientnet_graph = bench_backbone("efficientnet-lite0", None, args.cases, args.size, tmp)
        if args.inception_cases:
            weights = tmp / "random_inception_v3.pth"
            torch.save(torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=False).state_dict(),
                       weights)
            bench_backbone("inception-v3", weights, args.inception_cases, args.size, tmp)
        if args.warm_cases:
            bench_cold_warm(args.warm_cases, args.size, tmp, efficientnet_graph)
    print(f"load average {os.getloadavg()[0]:.1f} at end (other processes share these CPUs)")


if __name__ == "__main__":
    main()
