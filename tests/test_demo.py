"""The demo data sets: each archive reads back and shows the failure it is meant to show."""

import argparse
import functools
import io
import zipfile

import numpy as np
import pytest

from gan_eval import demo
from gan_eval.cases import SEQUENCES
from gan_eval.cli import demo as demo_cli

SIZE, N_REAL, N_CASES, N_SMALL = 64, 6, 10, 3
build_small_demo = functools.partial(demo.build_demo, size=SIZE, n_real=N_REAL, n_cases=N_CASES, n_small=N_SMALL)


def read_zip(path) -> dict[str, dict[str, np.ndarray]]:
    """{case id: {key: array}} straight from the zip (independent of gan_eval's readers)."""
    out = {}
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            with np.load(io.BytesIO(zf.read(name)), allow_pickle=False) as npz:
                out[name.removesuffix(".npz")] = {key: npz[key] for key in npz.files}
    return out


def stack(cases: dict[str, dict[str, np.ndarray]], prefix: str = "") -> np.ndarray:
    return np.stack([np.stack([c[prefix + s] for s in SEQUENCES]) for c in cases.values()]).astype(np.float64)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    paths = build_small_demo(out, seed=3, workers=2)  # rendering in worker processes
    return out, paths, {name: read_zip(path) for name, path in paths.items()}


def test_every_archive_reads_back_with_the_expected_cases(built):
    out, paths, sets = built
    assert list(paths) == ["real", *demo.DEMO_SUBMISSIONS]
    expected = {"real": N_REAL, "small": N_SMALL}
    for name, path in paths.items():
        assert path == out / f"{name}.zip"
        cases = sets[name]
        assert len(cases) == expected.get(name, N_CASES)
        assert all(case_id.startswith(f"{name}_") for case_id in cases)
        for arrays in cases.values():
            assert set(arrays) == set(SEQUENCES) | {f"mask_{s}" for s in SEQUENCES}
            for s in SEQUENCES:
                assert arrays[s].dtype == np.uint16 and arrays[s].shape == (SIZE, SIZE)
                assert arrays[f"mask_{s}"].dtype == np.uint8 and arrays[f"mask_{s}"].any()
    assert not list(out.glob("*.partial"))


def test_fresh_sets_share_no_patient(built):
    _, _, sets = built
    fresh = ("real", "good", "blurry", "inconsistent", "small")
    lesions = np.concatenate([stack(sets[name], "mask_")[:, 0] for name in fresh]).reshape(-1, SIZE * SIZE) > 0
    overlap = (lesions[:, None] & lesions[None]).sum(-1) / (lesions[:, None] | lesions[None]).sum(-1)
    np.fill_diagonal(overlap, 0)
    assert overlap.max() < 0.9  # no lesion drawn twice: every case is a new patient


def test_memorized_cases_are_near_copies_of_their_real_twin(built):
    _, _, sets = built
    real = stack(sets["real"]).reshape(N_REAL, -1)
    copies = stack(sets["memorized"]).reshape(N_CASES, -1)
    distances = np.linalg.norm(copies[:, None] - real[None], axis=-1)
    nearest = np.sort(distances, axis=1)
    assert (distances.argmin(axis=1) == np.arange(N_CASES) % N_REAL).all()
    assert (nearest[:, 0] < 0.2 * nearest[:, 1]).all()
    np.testing.assert_array_equal(stack(sets["memorized"], "mask_")[:N_REAL], stack(sets["real"], "mask_"))


def test_collapsed_cases_fall_into_a_handful_of_prototypes(built):
    _, _, sets = built
    flat = stack(sets["collapsed"]).reshape(N_CASES, -1)
    distances = np.linalg.norm(flat[:, None] - flat[None], axis=-1)
    group = np.arange(N_CASES) % demo.PROTOTYPES
    same = group[:, None] == group[None]
    off_diagonal = ~np.eye(N_CASES, dtype=bool)
    assert distances[same & off_diagonal].max() < distances[~same].min()


def test_blurry_cases_lost_their_fine_detail(built):
    _, _, sets = built

    def detail(images):  # mean curvature along rows: fine structure and noise
        return np.abs(np.diff(images, n=2, axis=-1)).mean()

    assert detail(stack(sets["blurry"])) < 0.35 * detail(stack(sets["good"]))


def test_inconsistent_cases_mix_patients_across_sequences(built):
    _, _, sets = built
    mixed, consistent = stack(sets["inconsistent"], "mask_"), stack(sets["good"], "mask_")
    # T1 arterial and portal show one patient, T2 another.
    assert all((m[0] == m[1]).all() and (m[1] != m[2]).any() for m in mixed)
    assert all((m[0] == m[1]).all() and (m[1] == m[2]).all() for m in consistent)


def test_worker_processes_write_the_same_archives_as_one_process(built, tmp_path):
    _, _, sets = built
    paths = build_small_demo(tmp_path, seed=3, workers=1)
    for name, path in paths.items():
        serial = read_zip(path)
        assert list(serial) == list(sets[name])
        for case_id, arrays in serial.items():
            for key, array in arrays.items():
                np.testing.assert_array_equal(array, sets[name][case_id][key])


def test_rebuild_keeps_complete_archives_and_redoes_the_rest(tmp_path):
    paths = build_small_demo(tmp_path, seed=1)
    stamps = {name: path.stat().st_mtime_ns for name, path in paths.items()}
    messages = []
    build_small_demo(tmp_path, seed=1, progress=lambda message, fraction: messages.append((message, fraction)))
    assert {name: path.stat().st_mtime_ns for name, path in paths.items()} == stamps
    assert sum(message.startswith("kept") for message, _ in messages) == len(paths)
    assert messages[-1][1] == 1.0

    memorized = read_zip(paths["memorized"])
    paths["good"].write_bytes(b"truncated")  # an incomplete archive is rebuilt
    paths["memorized"].unlink()  # rebuilt from real cases drawn again, real.zip being kept
    build_small_demo(tmp_path, seed=1)
    assert len(read_zip(paths["good"])) == N_CASES
    assert paths["small"].stat().st_mtime_ns == stamps["small"]
    assert paths["real"].stat().st_mtime_ns == stamps["real"]
    again = read_zip(paths["memorized"])
    for case_id, arrays in memorized.items():
        np.testing.assert_array_equal(again[case_id]["t2"], arrays["t2"])

    build_small_demo(tmp_path, seed=1, size=48)  # new parameters
    assert next(iter(read_zip(paths["small"]).values()))["t2"].shape == (48, 48)


def test_too_few_cases_are_refused(tmp_path):
    with pytest.raises(ValueError, match=f"n_cases >= {demo.PROTOTYPES}"):
        demo.build_demo(tmp_path, n_real=3, n_cases=demo.PROTOTYPES - 1, n_small=1)


def test_demo_command_prints_what_it_wrote(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(demo_cli, "build_demo", build_small_demo)
    parser = argparse.ArgumentParser()
    demo_cli.add_parser(parser.add_subparsers())
    args = parser.parse_args(["demo", "--out", str(tmp_path / "ws"), "--seed", "2", "--workers", "1"])
    assert args.run(args) == 0
    printed = capsys.readouterr()
    for name in ["real", *demo.DEMO_SUBMISSIONS]:
        assert f"{tmp_path / 'ws' / name}.zip" in printed.out
    assert "100%" in printed.err
