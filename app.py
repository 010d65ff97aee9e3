"""gan_eval dashboard: ``streamlit run app.py``. Opens on the built-in demo workspace."""

import streamlit as st

from ui import components

st.set_page_config(page_title="gan_eval · GAN evaluation for liver MRI", page_icon=":material/radiology:",
                   layout="wide")

pages = [
    st.Page("views/leaderboard.py", title="Leaderboard", icon=":material/leaderboard:", default=True),
    st.Page("views/embedding_map.py", title="Embedding map", icon=":material/scatter_plot:"),
    st.Page("views/case_viewer.py", title="Case viewer", icon=":material/image:"),
    st.Page("views/diagnosis.py", title="Diagnosis", icon=":material/troubleshoot:"),
    st.Page("views/reader_study.py", title="Reader study", icon=":material/rate_review:"),
    st.Page("views/baseline_gan.py", title="Baseline GAN", icon=":material/model_training:"),
    st.Page("views/workspace.py", title="Workspace & upload", icon=":material/folder_open:"),
]
navigation = st.navigation(pages)
components.header()
navigation.run()
