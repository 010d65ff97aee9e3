"""gan_eval dashboard: ``streamlit run app.py``. Opens on the built-in demo workspace.

Which pages a session gets depends on its role (ui.auth, ui.pages): everything in demo mode;
in jury mode the organiser's pages, a reader's reading page, or a visitor's sign-in page.
"""

import streamlit as st

from ui import auth, components, state
from ui.pages import pages_for

st.set_page_config(page_title="gan_eval · GAN evaluation for liver MRI", page_icon=":material/radiology:",
                   layout="wide")

role = auth.role(state.workspace())
navigation = st.navigation([st.Page(p.file, title=p.title, icon=p.icon, default=p.default) for p in pages_for(role)])
components.header(role)
navigation.run()
