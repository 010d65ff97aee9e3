"""gan_eval dashboard: ``streamlit run app.py``. Opens on the built-in demo workspace.

This file is read two ways. A browser session runs it as the page script (``__main__``): the
navigation and the pages. ``streamlit run`` first imports it as a module, finds ``app`` (an
``st.App``) and serves that: its start-up hook begins building, embedding and scoring the demo
workspace as soon as the server starts, before any browser opens it (set ``GAN_EVAL_DEMO_AT_START=0``
to skip). Worker processes that "spawn" re-imports as ``__mp_main__`` do neither.

Which pages a session gets depends on its role (ui.auth, ui.pages): everything in demo mode;
in jury mode the organiser's pages, a reader's reading page, or a visitor's sign-in page.
"""

import os
from contextlib import asynccontextmanager

import streamlit as st


def main() -> None:
    from gan_eval.workspace import service
    from ui import auth, components, state
    from ui.pages import pages_for

    st.set_page_config(page_title="gan_eval · GAN evaluation for liver MRI", page_icon=":material/radiology:",
                       layout="wide", initial_sidebar_state=235)  # a narrow sidebar leaves a projector room
    components.compact_layout()
    components.linked_zoom()
    ws = state.workspace()
    role = auth.role(ws)
    pages = pages_for(role, published=service.is_published(ws))
    navigation = st.navigation([st.Page(p.file, title=p.title, icon=p.icon, default=p.default) for p in pages])
    components.header(role)
    navigation.run()


@asynccontextmanager
async def _at_server_start(_app):
    if os.environ.get("GAN_EVAL_DEMO_AT_START", "1") != "0":
        from ui import state

        state.start_demo_at_launch()
    yield


if __name__ == "__main__":
    main()
elif __name__ != "__mp_main__":
    app = st.App(__file__, lifespan=_at_server_start)
