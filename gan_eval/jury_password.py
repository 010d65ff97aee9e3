"""The reader study's jury password: where it is configured, and a constant-time check.

Kept out of :mod:`gan_eval.reader_study` (which re-exports it, where the app imports it from)
since it has nothing to do with the store.
"""

from __future__ import annotations

import hmac
import os
from typing import Mapping

JURY_PASSWORD_SECRET = "jury_password"
JURY_PASSWORD_ENV = "GAN_EVAL_JURY_PASSWORD"
JURY_PASSWORD_HELP = (
    "No jury password is configured, so the reader study stays closed. Set one in "
    f'.streamlit/secrets.toml as {JURY_PASSWORD_SECRET} = "..." or in the environment variable '
    f"{JURY_PASSWORD_ENV}; both are read when the server starts."
)


def jury_password(secrets: Mapping | None, environ: Mapping[str, str] | None = None) -> str | None:
    """The configured jury password: ``secrets["jury_password"]``, else $GAN_EVAL_JURY_PASSWORD.

    ``secrets`` may be Streamlit's ``st.secrets``, which raises a FileNotFoundError subclass
    when no secrets file exists; that counts as not set. An empty password counts as not set,
    since it would let anyone in. ``environ`` defaults to ``os.environ``.
    """
    environ = os.environ if environ is None else environ
    from_secrets = None
    if secrets is not None:
        try:
            from_secrets = secrets.get(JURY_PASSWORD_SECRET)
        except FileNotFoundError:
            from_secrets = None
    for candidate in (from_secrets, environ.get(JURY_PASSWORD_ENV)):
        if candidate:
            return str(candidate)
    return None


def check_password(given: str | None, configured: str | None) -> bool:
    """Constant-time comparison; always False when no password is configured."""
    if not configured or given is None:
        return False
    return hmac.compare_digest(given.encode("utf-8"), configured.encode("utf-8"))
