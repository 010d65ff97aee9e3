"""Workspaces: a folder on disk holding an evaluation (``folder``), the built-in demo (``demo``),
and the use cases the app and the CLI share (``service``)."""

from .demo import demo_root, open_demo_workspace
from .folder import BASELINE, DEFAULT_BACKBONE, REAL, SetEntry, Workspace, check_team_name, default_home

__all__ = ["BASELINE", "DEFAULT_BACKBONE", "REAL", "SetEntry", "Workspace", "check_team_name", "default_home", "demo_root",
           "open_demo_workspace"]
