"""Baseline GAN benchmark.

    python bench/bench_gan.py speed [--steps 20] [--batch-size 16]
        Training steps/s at resolution 64 (the reference) and 128 on the CPU, and on CUDA (plus
        256) when a GPU is present; printed as ratios against the 64x64 CPU run of this process.

    python bench/bench_gan.py experiment [--minutes 10] [--resolution 128] [--n 1000] [--real PATH]
        The data-efficiency experiment (~25 minutes of both cores with the defaults): on the real
        set (default: 91 phantom cases, the demo's real set) train with DiffAugment for a fixed
        wall-clock budget, then without DiffAugment for the same number of steps, and compare
        the FID (and KID) of n cases from each EMA generator, and from an untrained generator,
        against the real set with the default backbone, and the challenge's 1-NN diversity
        (cases the embedding tells apart from the real ones: accuracy near 1). Runs, archives
        and sample grids go to --out (bench/out/gan by default, git-ignored).

    python bench/bench_gan.py score-memory [--n 1000] [--size 128]
        gan_eval.Evaluator.score on n generated cases held in memory as an (N, 3, H, W) array,
        against the real set (91 phantom cases) whose embeddings are in the cache already: the
        time a team's loop waits for the jury's JSON, cold (new cases) and warm (same cases again).

    python bench/bench_gan.py live-metrics [--steps 500] [--resolution 64] [--threads 1]
        The cost of the baseline's live metrics at the default settings (every 250 steps, 100
        cases): the same run with and without them, and each evaluation's own seconds, as a
        fraction of the training time.

    python bench/bench_gan.py lesions [--steps 3000] [--resolution 64] [--threads 1] [--set KEY=VALUE ...]
        Lesion variation (issue 15 item 4): train one run with the default settings, changed by
        --set (TrainConfig fields, e.g. --set lesion_std=0), on the demo real set (91 phantom
        cases), then score n exported cases: spread of lesion centroids and sizes against the real
        set's and stray lesion area (gan_eval.lesions), two-sample Kolmogorov-Smirnov tests on the
        centroid row, column and size, lesion fraction, FID, KID, 1-NN accuracy and the per-pixel
        spread. The live metrics' curve of the lesion ratios is printed too. One JSON line per run
        is appended to --out/results.jsonl; the run and its sample grid stay in --out/NAME.

    python bench/bench_gan.py lesion-stats ARCHIVE ... [--resolution 128]
        The same lesion measures (not FID) of exported archives, against the demo real set.

    python bench/bench_gan.py grid OUT.png --resolution 128 "LABEL=samples.png" ...
        A comparison figure: the T2 and mask columns of each sample grid (a run's
        samples/step_*.png or real.png), side by side under their labels.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gan_eval.archives import read_cases  # noqa: E402
from gan_eval.gan import TrainConfig, latest_sample, read_log, request_stop  # noqa: E402
from gan_eval.gan.export import generate  # noqa: E402
from gan_eval.gan.train import train  # noqa: E402
from gan_eval.phantom import make_cases  # noqa: E402

NEVER = 10**9  # sample/checkpoint interval that is never reached
WARMUP_STEPS = 3  # first steps pay one-off kernel set-up costs; not timed


def steps_per_second(resolution: int, device: str, steps: int, batch_size: int, cases) -> float:
    config = TrainConfig(resolution=resolution, steps=steps, batch_size=batch_size, device=device, log_every=1,
                         sample_every=NEVER, checkpoint_every=NEVER, metrics_every=0)
    with tempfile.TemporaryDirectory() as tmp:
        train(Path(tmp) / "run", config, cases=cases)
        log = {r["step"]: r["elapsed_s"] for r in read_log(Path(tmp) / "run")}
    return (steps - WARMUP_STEPS) / (log[steps] - log[WARMUP_STEPS])


def speed(args: argparse.Namespace) -> None:
    cases = make_cases(32, seed=0, size=128)
    targets = [("cpu", 64, args.steps), ("cpu", 128, max(WARMUP_STEPS + 5, args.steps // 2))]
    if torch.cuda.is_available():
        targets += [("cuda", r, args.steps * 5) for r in (64, 128, 256)]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, batch size {args.batch_size}, "
          f"load average {os.getloadavg()[0]:.1f} (other processes slow the CPU runs down)")
    reference = None
    for device, resolution, steps in targets:
        rate = steps_per_second(resolution, device, steps, args.batch_size, cases)
        reference = reference or rate
        print(f"{device:>4} {resolution:>3}x{resolution:<3} {rate:7.2f} steps/s  {rate * args.batch_size:7.1f} images/s  "
              f"{rate / reference:6.2f}x the 64x64 CPU run ({steps} steps)", flush=True)


def fid_against(real_features, run_dir: Path, n: int, out: Path, name: str) -> dict:
    from gan_eval.features.embed import embed_cases
    from gan_eval.metrics.diversity import loo_1nn_diversity
    from gan_eval.metrics.fid import frechet_distance
    from gan_eval.metrics.kid import kernel_inception_distance

    archive = generate(run_dir, n, out / f"{name}.zip")
    cases, _ = read_cases(archive)
    features = embed_cases(cases, name=name, cache=False).features
    diversity = loo_1nn_diversity(real_features, features, seed=0)
    return {"fid": frechet_distance(real_features, features),
            "kid": kernel_inception_distance(real_features, features).kid,
            "accuracy": diversity.accuracy, "diversity": diversity.diversity}


def experiment(args: argparse.Namespace) -> None:
    from gan_eval.features.embed import embed_cases

    if args.threads:
        torch.set_num_threads(args.threads)

    out = args.out
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    real = list(read_cases(args.real)[0]) if args.real else make_cases(91, seed=0, size=args.resolution)
    real_features = embed_cases(real, name="real", cache=False).features
    base = TrainConfig(resolution=args.resolution, steps=NEVER, batch_size=args.batch_size, seed=args.seed,
                       sample_every=250, checkpoint_every=NEVER, log_every=10, metrics_every=0)

    # DiffAugment for a fixed wall-clock budget: a timer asks the loop to stop, as the app's Stop button does.
    timer = threading.Timer(args.minutes * 60, request_stop, [out / "diffaugment"])
    timer.start()
    steps = train(out / "diffaugment", base, cases=real)["step"]
    timer.cancel()
    started = time.perf_counter()
    train(out / "no_augment", replace(base, steps=steps, augment=False), cases=real)
    no_augment_minutes = (time.perf_counter() - started) / 60
    train(out / "untrained", replace(base, steps=0), cases=real)

    print(f"real set: {len(real)} cases; resolution {args.resolution}; batch {args.batch_size}; "
          f"{torch.get_num_threads()} CPU threads; "
          f"{steps} steps = {args.minutes:g} min with DiffAugment, {no_augment_minutes:.1f} min without; "
          f"{args.n} generated cases per run; default backbone")
    results = {name: fid_against(real_features, out / name, args.n, out, name)
               for name in ("untrained", "no_augment", "diffaugment")}
    reference = results["untrained"]["fid"]
    for name, result in results.items():
        sample = latest_sample(out / name)
        shutil.copy(sample, out / f"{name}_samples.png")
        print(f"{name:>12}: FID {result['fid']:9.2f} ({result['fid'] / reference:5.3f}x untrained)  "
              f"KID {result['kid']:.4f}  1-NN accuracy {result['accuracy']:.3f} (diversity "
              f"{result['diversity']:.3f})  samples {out / f'{name}_samples.png'}")


def _load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def score_memory(args: argparse.Namespace) -> None:
    import numpy as np

    from gan_eval.api import Evaluator

    with tempfile.TemporaryDirectory() as cache:
        real = make_cases(91, seed=0, size=args.size)
        started = time.perf_counter()
        Evaluator(real, cache=cache)  # the workspace's state before a team scores: real set in the cache
        print(f"real set: 91 cases {args.size}², embedded into the cache in {time.perf_counter() - started:.1f} s "
              f"(ONNX export included); {_load()}")
        images = np.stack([c.images for c in make_cases(args.n, seed=1, size=args.size)]).astype(np.float32)
        print(f"generated: {images.shape} float32 in memory ({images.nbytes / 2**20:.0f} MB); {_load()}")
        for attempt in ("cold", "warm"):
            started = time.perf_counter()
            evaluator = Evaluator(real, cache=cache)
            loaded = time.perf_counter() - started
            result = evaluator.score(images, name="team")
            total = time.perf_counter() - started
            record = result["submissions"]["team"]
            print(f"{attempt}: {total:.1f} s = {loaded:.2f} s Evaluator (real set from the cache) + "
                  f"{total - loaded:.1f} s score ({args.n / (total - loaded):.0f} cases/s); FID {record['fid']:.2f}, "
                  f"1-NN accuracy {record['loo_accuracy']:.3f}; {_load()}", flush=True)


def live_metrics(args: argparse.Namespace) -> None:
    from gan_eval.api import Evaluator
    from gan_eval.gan.runs import read_metrics

    torch.set_num_threads(args.threads)
    real = make_cases(91, seed=0, size=128)
    defaults = TrainConfig()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        base = TrainConfig(resolution=args.resolution, steps=args.steps, sample_every=NEVER, checkpoint_every=NEVER,
                           cache_dir=str(tmp / "cache"))
        Evaluator(real, cache=tmp / "cache")  # real set embedded, backbone exported: the app's state
        print(f"{args.resolution}², {args.steps} steps, {torch.get_num_threads()} torch thread(s), metrics every "
              f"{defaults.metrics_every} steps on {defaults.metrics_samples} cases; {_load()}")
        times = {}
        for name, config in (("without", replace(base, metrics_every=0)), ("with", base)):
            started = time.perf_counter()
            train(tmp / name, config, cases=real)
            times[name] = time.perf_counter() - started
            print(f"{name:>7} live metrics: {times[name]:.1f} s; {_load()}", flush=True)
        lines = read_metrics(tmp / "with")
        during = [line["eval_s"] for line in lines if line["step"] > 0]
        per_interval = times["without"] / args.steps * defaults.metrics_every
        print(f"evaluations at steps {[line['step'] for line in lines]}: {', '.join(f'{x:.2f}' for x in during)} s "
              f"(step 0, once: {lines[0]['eval_s']:.2f} s)")
        print(f"overhead: {sum(during) / times['without']:.1%} of the training time from the evaluations' own "
              f"seconds ({sum(during) / len(during):.2f} s per {defaults.metrics_every} steps of "
              f"{per_interval:.0f} s); "
              f"run to run, {times['with'] / times['without'] - 1:+.1%} (step 0 included)")


def _setting(text: str) -> tuple[str, object]:
    """KEY=VALUE of --set, the value read as JSON when it parses (numbers, true/false), else a string."""
    import json

    key, _, value = text.partition("=")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def pixel_spread(images) -> float:
    """Per-pixel standard deviation across cases of the three sequences, in [0, 1] units, averaged."""
    return float(((images[:, :3] + 1) / 2).std(dim=0).mean())


def lesion_measures(real, generated, resolution: int) -> dict:
    """The lesion geometry of ``generated`` cases against ``real`` ones (gan_eval.lesions: spreads,
    stray area), the share of cases with a stray piece, two-sample KS tests on the centroid row,
    column and size, and the per-pixel spread of the sequences at ``resolution``."""
    from scipy.stats import ks_2samp

    from gan_eval.gan.data import cases_to_tensor
    from gan_eval.lesions import case_lesions, lesion_spread

    real_geometry, geometry = case_lesions(real), case_lesions(generated)
    measures = {**lesion_spread(real_geometry, geometry),
                "stray_cases": float((geometry.largest < geometry.areas).mean())}
    for label, ours, theirs in (("row", geometry.centroids[:, 0], real_geometry.centroids[:, 0]),
                                ("column", geometry.centroids[:, 1], real_geometry.centroids[:, 1]),
                                ("size", geometry.sizes, real_geometry.sizes)):
        test = ks_2samp(ours[geometry.has_lesion], theirs[real_geometry.has_lesion])
        measures[f"ks_{label}"], measures[f"ks_{label}_p"] = float(test.statistic), float(test.pvalue)
    measures["pixel_spread"] = pixel_spread(cases_to_tensor(generated, resolution)[0])
    measures["pixel_spread_real"] = pixel_spread(cases_to_tensor(real, resolution)[0])
    return measures


def print_lesion_measures(m: dict) -> None:
    print(f"  lesion position ratio {m['lesion_position_ratio']:.3f}, size ratio {m['lesion_size_ratio']:.3f}, "
          f"lesion fraction {m['lesion_fraction']:.3f} (real {m['lesion_fraction_real']:.3f})")
    print("  KS statistic (p): " + ", ".join(f"{k} {m[f'ks_{k}']:.3f} ({m[f'ks_{k}_p']:.2g})"
                                             for k in ("row", "column", "size")))
    print(f"  stray lesion area {m['lesion_stray_area']:.3f} (real {m['lesion_stray_area_real']:.3f}), cases with "
          f"a stray piece {m['stray_cases']:.3f}; per-pixel spread {m['pixel_spread']:.3f} "
          f"(real {m['pixel_spread_real']:.3f})")


def lesion_stats(args: argparse.Namespace) -> None:
    real = make_cases(91, seed=0, size=max(128, args.resolution))
    for archive in args.archives:
        print(f"{archive}:")
        print_lesion_measures(lesion_measures(real, list(read_cases(archive)[0]), args.resolution))


def lesions(args: argparse.Namespace) -> None:
    import json

    from gan_eval.api import Evaluator
    from gan_eval.features.embed import embed_cases
    from gan_eval.gan.runs import read_metrics

    torch.set_num_threads(args.threads)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    settings = dict(_setting(text) for text in args.set)
    name = args.name or ("_".join(f"{k}={v}" for k, v in settings.items()) or "default") + f"_{args.resolution}"
    run_dir = out / name
    if run_dir.exists():
        shutil.rmtree(run_dir)
    real = make_cases(91, seed=0, size=max(128, args.resolution))
    Evaluator(real, cache=out / "cache")  # the real set's features in the live metrics' cache
    config = TrainConfig.from_dict({**TrainConfig(resolution=args.resolution, steps=args.steps, seed=args.seed,
                                                  checkpoint_every=NEVER, cache_dir=str(out / "cache")).to_dict(),
                                    **settings})
    started = time.perf_counter()
    train(run_dir, config, cases=real)
    minutes = (time.perf_counter() - started) / 60
    curve = [(line["step"], line.get("lesion_position_ratio"), line.get("lesion_size_ratio"))
             for line in read_metrics(run_dir)]

    scores = fid_against(embed_cases(real, name="real", cache=False).features, run_dir, args.n, out, name)
    generated = list(read_cases(out / f"{name}.zip")[0])
    result = {"name": name, "settings": settings, "resolution": args.resolution, "steps": args.steps,
              "seed": args.seed, "threads": torch.get_num_threads(), "minutes": minutes, "n": args.n, **scores,
              **lesion_measures(real, generated, args.resolution), "curve": curve}
    shutil.copy(latest_sample(run_dir), out / f"{name}_samples.png")
    with open(out / "results.jsonl", "a") as f:
        f.write(json.dumps(result) + "\n")
    print(f"{name}: {args.steps} steps at {args.resolution}² in {minutes:.1f} min, {torch.get_num_threads()} "
          f"thread(s); {args.n} cases; {_load()}")
    print_lesion_measures(result)
    print(f"  FID {scores['fid']:.1f}, KID {scores['kid']:.4f}, 1-NN accuracy {scores['accuracy']:.3f}")
    print("  live metrics (step: position, size ratio): " + ", ".join(
        f"{step}: {p:.2f}, {q:.2f}" for step, p, q in curve if p is not None and q is not None))


def grid(args: argparse.Namespace) -> None:
    """The T2 and mask columns of sample grids (gan.data.sample_grid: header 14, gap 2), side by side."""
    from PIL import Image, ImageDraw

    header, gap, res = 14, 2, args.resolution
    panels = []
    for text in args.columns:
        label, _, path = text.partition("=")
        image = Image.open(path).convert("L")
        left = 2 * (res + gap)  # T2 is the third channel column
        panel = image.crop((left, 0, left + 2 * res + gap, image.height))
        titled = Image.new("L", (panel.width, panel.height + header), 255)
        titled.paste(panel, (0, header))
        ImageDraw.Draw(titled).text((2, 1), label, fill=0)
        panels.append(titled)
    height = max(p.height for p in panels)
    figure = Image.new("L", (sum(p.width for p in panels) + 12 * (len(panels) - 1), height), 255)
    x = 0
    for panel in panels:
        figure.paste(panel, (x, 0))
        x += panel.width + 12
    figure.save(args.out)
    print(f"{args.out}: {figure.width}x{figure.height}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode")
    p = sub.add_parser("speed")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=16)
    p = sub.add_parser("experiment")
    p.add_argument("--minutes", type=float, default=10.0, help="DiffAugment training budget (wall clock)")
    p.add_argument("--resolution", type=int, default=128, choices=(64, 128, 256))
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--n", type=int, default=1000, help="generated cases per run")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--real", type=Path, help="real set (any archive read_cases accepts); default: 91 phantom cases")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice); use 1 to run two "
                   "experiments side by side on a 2-core machine")
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out" / "gan")
    p = sub.add_parser("score-memory")
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--size", type=int, default=128, help="image side of the real and generated cases")
    p = sub.add_parser("live-metrics")
    p.add_argument("--steps", type=int, default=500)
    p.add_argument("--resolution", type=int, default=64, choices=(64, 128))
    p.add_argument("--threads", type=int, default=1)
    p = sub.add_parser("lesions")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--resolution", type=int, default=64, choices=(32, 64, 128))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--n", type=int, default=1000, help="exported cases scored at the end")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a TrainConfig setting")
    p.add_argument("--name", help="run name (default: from the settings)")
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out" / "lesions")
    p = sub.add_parser("lesion-stats")
    p.add_argument("archives", nargs="+", type=Path)
    p.add_argument("--resolution", type=int, default=128, help="of the per-pixel spread")
    p = sub.add_parser("grid")
    p.add_argument("out", type=Path)
    p.add_argument("columns", nargs="+", metavar="LABEL=PNG")
    p.add_argument("--resolution", type=int, default=128)
    args = parser.parse_args()
    if args.mode == "grid":
        grid(args)
    elif args.mode == "lesions":
        lesions(args)
    elif args.mode == "lesion-stats":
        lesion_stats(args)
    elif args.mode == "experiment":
        experiment(args)
    elif args.mode == "score-memory":
        score_memory(args)
    elif args.mode == "live-metrics":
        live_metrics(args)
    else:
        speed(args if args.mode else parser.parse_args(["speed"]))


if __name__ == "__main__":
    main()
