"""Who is using this session: the organiser, an invited reader, a visitor, or anyone (demo mode).

The rules are ``gan_eval.access``'s; this module only reads Streamlit's secrets, the URL and the
session. A reader's identity is the invite token in the URL (``?invite=...``), so it survives a
reload; the organiser signs in once per browser session.
"""

from __future__ import annotations

import secrets

import streamlit as st

from gan_eval import access
from gan_eval.access import Role
from gan_eval.workspace import Workspace

INVITE_PARAM = "invite"


@st.cache_resource
def _throttle() -> access.Throttle:
    """Failures per client, shared by every session of this server."""
    return access.Throttle()


def configured_secret() -> str | None:
    return access.organiser_secret(st.secrets)


def jury_mode() -> bool:
    return configured_secret() is not None


def client_key() -> str:
    """Who a failure is counted against: the client's address, or this browser session when the
    address is unknown."""
    address = st.context.ip_address
    if isinstance(address, str) and address:
        return f"ip:{address}"
    return "session:" + st.session_state.setdefault("throttle-key", secrets.token_hex(8))


def reader(ws: Workspace) -> access.Reader | None:
    """The invited reader whose link opened this session, or None (a wrong or revoked token
    counts as a failure for this client)."""
    token = st.query_params.get(INVITE_PARAM)
    if not token:
        return None
    if _throttle().wait_s(client_key()) > 0:
        return None
    found = access.Invites(ws.access_db).reader_for(token)
    (_throttle().succeeded if found else _throttle().failed)(client_key())
    return found


def role(ws: Workspace) -> Role:
    if not jury_mode():
        return Role.DEMO
    if st.session_state.get("organiser"):
        return Role.ORGANISER
    return Role.READER if reader(ws) is not None else Role.VISITOR


def actor(ws: Workspace) -> str:
    """The name the audit log records for this session's actions."""
    current = role(ws)
    if current is Role.READER:
        return f"reader:{reader(ws).name}"
    return current.value


def sign_in_organiser(ws: Workspace, given: str) -> str | None:
    """Sign this session in as the organiser; the error to show, or None on success."""
    wait = _throttle().wait_s(client_key())
    if wait > 0:
        return f"Too many failed attempts: try again in {wait:.0f} s."
    if not access.secrets_match(given, configured_secret()):
        _throttle().failed(client_key())
        return "Wrong organiser secret."
    _throttle().succeeded(client_key())
    st.session_state["organiser"] = True
    access.AuditLog(ws.audit_log).append("organiser", "sign in")
    return None


def app_url() -> str:
    """The address this browser reached the app at, for invite links."""
    url = st.context.url or ""
    return url.split("?")[0].rstrip("/") + "/" if url else "/"


def sign_out() -> None:
    st.session_state.pop("organiser", None)
    st.query_params.pop(INVITE_PARAM, None)


def may_manage(ws: Workspace) -> bool:
    """Uploads, removals, backbone, GAN runs: the organiser in jury mode, anyone in demo mode."""
    return role(ws) in (Role.DEMO, Role.ORGANISER)
