"""Backbone registry, weight resolution and fingerprints, and what each module does to its input."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision

from gan_eval.features import weights as backbones
from gan_eval.features.registry import BACKBONES, DEFAULT_BACKBONE, describe_backbone
from gan_eval.features.weights import (
    InvalidWeightsError,
    WeightsNotFoundError,
    check_weights_file,
    resolve_backbone,
    resolve_weights,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def isolated_weights(tmp_path, monkeypatch):
    """No real hub cache, no env overrides, no downloads."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.setenv(backbones.OFFLINE_ENV, "1")
    for spec in BACKBONES.values():
        monkeypatch.delenv(spec.env_var, raising=False)


def sha_prefix(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


@pytest.fixture(scope="module")
def inception_weights(tmp_path_factory) -> Path:
    """Randomly initialised torchvision Inception v3 weights, same keys as the ImageNet file."""
    torch.manual_seed(0)
    net = torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=False)
    path = tmp_path_factory.mktemp("weights") / "random_inception.pth"
    torch.save(net.state_dict(), path)
    return path


def batch(n: int = 2) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(0).random((n, 3, 299, 299), dtype=np.float32))


def first_conv_input(module: torch.nn.Module, conv: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    seen = []
    handle = conv.register_forward_hook(lambda mod, inp, out: seen.append(inp[0]))
    with torch.no_grad():
        module(x)
    handle.remove()
    return seen[0]


def test_registry_lists_the_backbones_with_their_dimensions():
    assert DEFAULT_BACKBONE == "efficientnet-lite0"
    assert {k: v.dim for k, v in BACKBONES.items()} == {"efficientnet-lite0": 1280, "inception-v3": 2048,
                                                         "fid-inception": 2048, "radiomics": 111}
    assert "offline" in describe_backbone("efficientnet-lite0")
    assert "unknown" in describe_backbone("precomputed")
    with pytest.raises(ValueError, match="unknown backbone 'resnet'; choose one of efficientnet-lite0"):
        resolve_backbone("resnet")


def test_efficientnet_weights_ship_with_the_package_and_fingerprint_is_their_sha256():
    bb = resolve_backbone()
    assert bb.weights_path.name == "efficientnet-lite0-57934424.pth" and bb.weights_path.is_file()
    assert bb.fingerprint == sha_prefix(bb.weights_path)
    assert bb.fingerprint.startswith("57934424")  # the published file names its own sha256 prefix


def test_efficientnet_normalises_then_convolves_299_without_resizing():
    module = resolve_backbone().build()
    x = batch()
    seen = first_conv_input(module, module.net._conv_stem, x)
    assert seen.shape == (2, 3, 299, 299)
    torch.testing.assert_close(seen, (x - 127 / 255) / (128 / 255))
    with torch.no_grad():
        features = module(x)
    assert features.shape == (2, 1280) and torch.isfinite(features).all()
    # TF 'SAME' padding at 299: one pixel each side for the stride-2 stem.
    assert module.net._conv_stem.pad.padding == (1, 1, 1, 1)


def test_inception_v3_resolves_weights_explicit_then_env_then_hub(tmp_path, monkeypatch, inception_weights):
    hub_file = Path(torch.hub.get_dir()) / "checkpoints" / "inception_v3_google-0cc3c7bd.pth"
    hub_file.parent.mkdir(parents=True)
    hub_file.write_bytes(inception_weights.read_bytes())
    assert resolve_weights("inception-v3") == hub_file

    env_file = tmp_path / "env.pth"
    env_file.write_bytes(inception_weights.read_bytes())
    monkeypatch.setenv("GAN_EVAL_INCEPTION_WEIGHTS", str(env_file))
    assert resolve_weights("inception-v3") == env_file
    assert resolve_weights("inception-v3", weights=inception_weights) == inception_weights

    monkeypatch.setenv("GAN_EVAL_INCEPTION_WEIGHTS", str(tmp_path / "missing.pth"))
    with pytest.raises(WeightsNotFoundError, match="GAN_EVAL_INCEPTION_WEIGHTS=.*missing.pth.*does not exist"):
        resolve_weights("inception-v3")
    with pytest.raises(WeightsNotFoundError, match="given for inception-v3"):
        resolve_weights("inception-v3", weights=tmp_path / "nope.pth")


def test_missing_inception_weights_say_which_file_goes_where():
    expected = Path(torch.hub.get_dir()) / "checkpoints" / "inception_v3_google-0cc3c7bd.pth"
    with pytest.raises(WeightsNotFoundError) as info:
        resolve_backbone("inception-v3")
    message = str(info.value)
    for part in ("inception_v3_google-0cc3c7bd.pth", str(expected), "GAN_EVAL_INCEPTION_WEIGHTS", "--weights",
                 "downloads are disabled", "https://download.pytorch.org/models/inception_v3_google-0cc3c7bd.pth"):
        assert part in message


def test_an_unreachable_download_host_is_reported_as_offline(monkeypatch):
    monkeypatch.delenv(backbones.OFFLINE_ENV)

    def unreachable(address, timeout):
        assert address == ("download.pytorch.org", 443) and timeout <= 5
        raise OSError("network is unreachable")

    monkeypatch.setattr(backbones.socket, "create_connection", unreachable)
    with pytest.raises(WeightsNotFoundError, match=r"this machine is offline \(download.pytorch.org cannot be reached\)"):
        resolve_backbone("inception-v3")


def test_looking_without_download_never_touches_the_network(monkeypatch):
    monkeypatch.delenv(backbones.OFFLINE_ENV)
    monkeypatch.setattr(backbones.socket, "create_connection",
                        lambda *a, **k: pytest.fail("allow_download=False must not open a connection"))
    with pytest.raises(WeightsNotFoundError, match="downloads were not attempted"):
        resolve_weights("inception-v3", allow_download=False)


def test_missing_fid_weights_name_the_pytorch_fid_file():
    with pytest.raises(WeightsNotFoundError, match="pt_inception-2015-12-05-6726825d.pth.*GAN_EVAL_FID_INCEPTION_WEIGHTS"):
        resolve_backbone("fid-inception")


def test_inception_v3_from_a_weights_file_gives_2048_features_at_2x_minus_1(inception_weights):
    bb = resolve_backbone("inception-v3", weights=inception_weights)
    assert bb.fingerprint == sha_prefix(inception_weights)
    module = bb.build()
    x = batch()
    seen = first_conv_input(module, module.net.Conv2d_1a_3x3, x)
    assert not module.net.transform_input
    torch.testing.assert_close(seen, 2 * x - 1)  # no resize, no other normalisation
    with torch.no_grad():
        features = module(x)
    assert features.shape == (2, 2048) and torch.isfinite(features).all()


def test_fid_inception_builds_offline_from_a_local_file_and_never_resizes(tmp_path):
    torch.manual_seed(1)
    # pytorch-fid's blocks only change forward(): the parameters are torchvision's (1008 classes, no aux).
    net = torchvision.models.inception_v3(weights=None, num_classes=1008, aux_logits=False, init_weights=False)
    path = tmp_path / "fid.pth"
    torch.save(net.state_dict(), path)
    module = resolve_backbone("fid-inception", weights=path).build()
    fid_net = module.net
    assert fid_net.resize_input is False and fid_net.normalize_input is True
    x = batch(1)
    seen = first_conv_input(module, fid_net.blocks[0][0], x)
    torch.testing.assert_close(seen, 2 * x - 1)
    with torch.no_grad():
        features = module(x)
    assert features.shape == (1, 2048)


def test_weights_of_another_backbone_are_refused_by_name(inception_weights):
    bb = resolve_backbone("efficientnet-lite0", weights=inception_weights)
    with pytest.raises(ValueError, match="not efficientnet-lite0 weights"):
        bb.build()


def test_importing_backbones_and_embed_does_not_import_torch(tmp_path):
    env = dict(os.environ, TORCH_HOME=str(tmp_path / "th"))
    code = ("import sys, gan_eval.features.registry as b, gan_eval.features.weights, gan_eval.features.device, "
            "gan_eval.features.embed, gan_eval.features.loaders, gan_eval.cli; "
            "assert 'torch' not in sys.modules, 'torch imported'; print(b.hub_dir())")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(tmp_path / "th" / "hub")


def test_fid_inception_computes_what_pytorch_fid_builds_from_the_same_weights(tmp_path, monkeypatch):
    from pytorch_fid import inception as fid

    torch.manual_seed(2)
    net = torchvision.models.inception_v3(weights=None, num_classes=1008, aux_logits=False, init_weights=False)
    path = tmp_path / "fid.pth"
    torch.save(net.state_dict(), path)
    ours = resolve_backbone("fid-inception", weights=path).build()
    # The reference: pytorch-fid's own InceptionV3, its download answered with the same state dict.
    monkeypatch.setattr(fid, "load_state_dict_from_url", lambda *a, **k: torch.load(path, weights_only=True))
    reference = fid.InceptionV3([fid.InceptionV3.DEFAULT_BLOCK_INDEX], resize_input=False, normalize_input=True).eval()
    x = batch(2)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), reference(x)[0].flatten(1), rtol=0, atol=0)


def test_a_user_given_weights_path_is_judged_by_content_with_one_message(tmp_path, inception_weights):
    random_bytes = tmp_path / "random.pth"
    random_bytes.write_bytes(np.random.default_rng(0).bytes(4096))
    other_backbone = resolve_backbone("efficientnet-lite0").weights_path
    for path in ("/etc/passwd", tmp_path / "missing.pth", random_bytes, tmp_path, other_backbone):
        with pytest.raises(InvalidWeightsError) as info:
            check_weights_file("inception-v3", path)
        # The same words whatever the path is, and no chained cause that would tell.
        assert str(info.value) == "not a valid weights file for inception-v3", path
        assert info.value.__cause__ is None and info.value.__suppress_context__
    assert check_weights_file("inception-v3", inception_weights) == inception_weights.resolve()
    assert check_weights_file("efficientnet-lite0", other_backbone) == other_backbone.resolve()


def test_non_finite_weights_are_not_valid(tmp_path, inception_weights):
    state = torch.load(inception_weights, weights_only=True)
    state["fc.weight"][0, 0] = float("nan")
    path = tmp_path / "nan.pth"
    torch.save(state, path)
    with pytest.raises(InvalidWeightsError, match="^not a valid weights file for inception-v3$"):
        check_weights_file("inception-v3", path)


def test_embedding_and_gan_share_one_device_resolution(monkeypatch):
    from gan_eval.features import device
    from gan_eval.gan import export, train

    assert train.torch_device is export.torch_device is device.torch_device
    assert device.torch_device("cpu-torch") == device.torch_device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(device, "_no_gpu_driver", lambda: False)
    assert device.resolve_device("auto") == "cpu" and device.torch_device("auto") == torch.device("cpu")
    for name in ("cuda", "cuda:1"):
        with pytest.raises(ValueError, match=rf"device '{name}' requested but torch sees no CUDA GPU "
                                             r"\(CUDA is not available\); use 'cpu' or 'auto'"):
            device.torch_device(name)
    with pytest.raises(ValueError, match="unknown device 'gpu'"):
        device.torch_device("gpu")


def test_radiomics_is_a_network_free_backbone(tmp_path):
    from gan_eval.features.embed import embed_cases
    from gan_eval.features.weights import WeightsNotFoundError, resolve_weights
    from gan_eval.phantom import make_cases
    from gan_eval.radiomics import case_radiomics

    cases = make_cases(3, seed=0, size=64)
    emb = embed_cases(cases, backbone="radiomics", cache=tmp_path)
    assert emb.backbone == "radiomics" and emb.features.shape == (3, 111) and emb.orientation.shape == (3, 768)
    np.testing.assert_allclose(emb.features[1], case_radiomics(cases[1].images), rtol=1e-6)
    assert emb.fingerprint == resolve_backbone("radiomics").fingerprint  # its code's sha256
    assert resolve_weights("radiomics").name == "radiomics.py"
    with pytest.raises(WeightsNotFoundError, match="radiomics is computed without a network and takes no weights file"):
        resolve_weights("radiomics", tmp_path / "w.pth")
