"""``pip install`` of a copy of the repository gives a ``gan-eval`` command that runs every
subcommand from any folder, with the installed package (not the checkout) doing the work."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gan_eval.archives import write_archive
from gan_eval.phantom import make_cases

REPO = Path(__file__).resolve().parents[1]
_NOT_SHIPPED = shutil.ignore_patterns(".git", "__pycache__", "*.egg-info", "build", ".pytest_cache", "assets",
                                      "bench", "tests", "workspace", "demo_workspace")


@pytest.mark.slow
def test_pip_install_then_gan_eval_runs_from_another_folder(tmp_path):
    clone = tmp_path / "clone"
    shutil.copytree(REPO, clone, ignore=_NOT_SHIPPED)
    venv = tmp_path / "venv"
    # The venv sees this interpreter's packages (torch is 5 GB; pip and setuptools too, hence --without-pip)
    # and installs only gan_eval itself, offline.
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
           "--no-index", str(clone)]
    subprocess.run(pip, check=True, capture_output=True, timeout=300)
    shutil.rmtree(clone)  # nothing may be read from the source tree any more

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    real, good = elsewhere / "real.zip", elsewhere / "good.zip"
    write_archive(make_cases(12, seed=1, size=48, prefix="r"), real)
    write_archive(make_cases(12, seed=2, size=48, prefix="g"), good)
    gan_eval = str(venv / "bin" / "gan-eval")
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path), "GAN_EVAL_CACHE": str(tmp_path / "cache")}

    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import gan_eval; print(gan_eval.__file__)"],
                           cwd=elsewhere, env=env, capture_output=True, text=True, check=True)
    assert where.stdout.startswith(str(venv)), where.stdout

    validated = subprocess.run([gan_eval, "validate", "real.zip", "--json", "report.json"], cwd=elsewhere, env=env,
                               capture_output=True, text=True, timeout=300)
    assert validated.returncode == 0, validated.stderr
    assert json.loads((elsewhere / "report.json").read_text())["accepted"] == 12

    scored = subprocess.run([gan_eval, "score", "--real", "real.zip", "--submission", "good=good.zip",
                             "--json", "scores.json"], cwd=elsewhere, env=env, capture_output=True, text=True,
                            timeout=600)
    assert scored.returncode == 0, scored.stderr
    result = json.loads((elsewhere / "scores.json").read_text())
    assert result["backbone"] == "efficientnet-lite0" and result["submissions"]["good"]["n"] == 12

    module = subprocess.run([str(venv / "bin" / "python"), "-m", "gan_eval", "--help"], cwd=elsewhere, env=env,
                            capture_output=True, text=True, timeout=120)
    assert module.returncode == 0 and "validate" in module.stdout
