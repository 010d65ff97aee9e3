"""The prepared GPU check (bench/bench_gpu.py) is run once on a lent device, against its time
limit: it must not first fail there. Its smoke mode runs every step on this machine's CPU."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_gpu_check_runs_every_step_and_writes_what_it_measured(tmp_path):
    done = subprocess.run([sys.executable, str(REPO / "bench" / "bench_gpu.py"), "--smoke", "--device", "cpu",
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=600,
                          env=os.environ | {"GAN_EVAL_HOME": str(tmp_path / "home")})
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["meta"]["device"] == "cpu" and results["meta"]["smoke"]
    for backbone in ("efficientnet-lite0", "inception-v3"):
        assert results[f"embed_end_to_end/{backbone}/cpu"]["cases_per_s"] > 0
        assert results[f"network_precision/{backbone}/cpu"]["fp16_images_per_s"] > 0
    precision = results["network_precision/efficientnet-lite0/cpu"]
    assert precision["fid_fp32"] > 0 and abs(precision["fid_change_percent"]) < 10  # same network, same cases
    assert results["gan_steps_per_s/cpu/32"]["steps_per_s"] > 0
