"""gan_eval dashboard: ``streamlit run app.py``. Opens on the built-in demo workspace."""

import streamlit as st

from ui import components
from ui.pages import PAGES

st.set_page_config(page_title="gan_eval · GAN evaluation for liver MRI", page_icon=":material/radiology:",
                   layout="wide")

navigation = st.navigation([st.Page(p.file, title=p.title, icon=p.icon, default=p.default) for p in PAGES])
components.header()
navigation.run()
