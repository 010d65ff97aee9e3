"""The app's pages, defined once: app.py builds its navigation from this list, and the tests, the
benchmarks, the browser helper and the screenshot script take page names, files and titles from it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageSpec:
    name: str        # the file stem in views/, and the URL path (st.navigation names it after the file)
    title: str       # the sidebar link text
    icon: str
    default: bool = False

    @property
    def file(self) -> str:
        return f"views/{self.name}.py"

    @property
    def url_path(self) -> str:
        return "" if self.default else self.name  # the default page lives at "/"


PAGES = (
    PageSpec("leaderboard", "Leaderboard", ":material/leaderboard:", default=True),
    PageSpec("embedding_map", "Embedding map", ":material/scatter_plot:"),
    PageSpec("case_viewer", "Case viewer", ":material/image:"),
    PageSpec("diagnosis", "Diagnosis", ":material/troubleshoot:"),
    PageSpec("reader_study", "Reader study", ":material/rate_review:"),
    PageSpec("baseline_gan", "Baseline GAN", ":material/model_training:"),
    PageSpec("workspace", "Workspace & upload", ":material/folder_open:"),
)
PAGE_NAMES = tuple(p.name for p in PAGES)
