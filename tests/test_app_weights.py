"""The workspace page's weights field answers "valid" or "not valid" and never names a server file."""

from pathlib import Path

import pytest
import torch
import torchvision
from streamlit.testing.v1 import AppTest

from gan_eval.workspace import Workspace

APP = Path(__file__).resolve().parents[1] / "app.py"


def weights_messages(ws: Workspace, backbone: str, typed: str) -> list[str]:
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state["workspace_root"] = str(ws.root)
    at.switch_page("views/workspace.py")
    at.run()
    at.selectbox(key="ws-backbone").set_value(backbone)
    at.text_input(key="ws-weights").set_value(typed)
    at.run()
    assert not at.exception, at.exception
    return [str(e.value) for kind in ("success", "warning", "error", "info") for e in getattr(at, kind)]


@pytest.mark.parametrize("typed", ["/etc/passwd", "/etc/shadow", "/nonexistent/x.pth", "/etc"])
def test_a_typed_path_reveals_nothing_about_the_server(tmp_path, typed):
    messages = weights_messages(Workspace(tmp_path / "ws"), "inception-v3", typed)
    assert "not a valid weights file for inception-v3" in messages
    assert not any(typed in m or "found" in m.lower() or "exist" in m for m in messages), messages


def test_a_real_state_dict_is_valid(tmp_path):
    net = torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=False)
    path = tmp_path / "inception.pth"
    torch.save(net.state_dict(), path)
    messages = weights_messages(Workspace(tmp_path / "ws"), "inception-v3", str(path))
    assert "Valid weights file." in messages and not any(str(path) in m for m in messages)
