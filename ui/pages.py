"""The app's pages, defined once: app.py builds its navigation from this list, and the tests, the
benchmarks, the browser helper and the screenshot script take page names, files and titles from it.

Each page says which roles see it (``gan_eval.access.Role``): in demo mode everyone sees the
working pages; in jury mode the organiser does, a reader sees only the reading page, and a
visitor only the sign-in page (and the published results once there are any).
"""

from __future__ import annotations

from dataclasses import dataclass

from gan_eval.access import Role

_WORKING = frozenset({Role.DEMO, Role.ORGANISER})


@dataclass(frozen=True)
class PageSpec:
    name: str        # the file stem in views/, and the URL path (st.navigation names it after the file)
    title: str       # the sidebar link text
    icon: str
    roles: frozenset = _WORKING
    default: bool = False
    needs_published: bool = False  # shown only once results are published

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
    PageSpec("reader_study", "Reader study", ":material/rate_review:", roles=_WORKING | {Role.READER}),
    PageSpec("baseline_gan", "Baseline GAN", ":material/model_training:"),
    PageSpec("workspace", "Workspace & upload", ":material/folder_open:"),
    PageSpec("results", "Published results", ":material/verified:", roles=frozenset({Role.VISITOR, Role.READER}),
             needs_published=True),
    PageSpec("sign_in", "Sign in", ":material/login:", roles=frozenset({Role.VISITOR, Role.READER})),
)
PAGE_NAMES = tuple(p.name for p in PAGES if Role.DEMO in p.roles)  # the pages of the demo app


def pages_for(role: Role, published: bool = False) -> list[PageSpec]:
    """The pages ``role`` may open, the first one being where the session lands."""
    return [p for p in PAGES if role in p.roles and (published or not p.needs_published)]
