"""gan_eval dashboard: ``streamlit run app.py``. Opens on the built-in demo workspace.

Which pages a session gets depends on its role (ui.auth, ui.pages): everything in demo mode;
in jury mode the organiser's pages, a reader's reading page, or a visitor's sign-in page.
"""

import streamlit as st

from gan_eval.workspace import service
from ui import auth, components, state
from ui.pages import pages_for

st.set_page_config(page_title="gan_eval · GAN evaluation for liver MRI", page_icon=":material/radiology:",
                   layout="wide")

ws = state.workspace()
role = auth.role(ws)
pages = pages_for(role, published=service.is_published(ws))
navigation = st.navigation([st.Page(p.file, title=p.title, icon=p.icon, default=p.default) for p in pages])
components.header(role)
navigation.run()
