"""Streamlit-side glue shared by the pages: session state, background jobs, common widgets."""
