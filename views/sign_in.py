"""Sign in (jury mode): the organiser with the organiser secret; readers arrive by their invite link."""

import streamlit as st

from gan_eval.access import Role
from ui import auth, state

st.subheader("Sign in")
ws = state.workspace()
if auth.role(ws) is Role.READER:
    st.success(f"You are signed in as reader {auth.reader(ws).name} through your invite link. "
               "Open **Reader study** in the sidebar to read.")
    st.stop()
if st.query_params.get(auth.INVITE_PARAM):
    st.error("This invite link is not valid: it may have been revoked or mistyped. Ask the organiser for a new one.")
st.caption("This server runs a challenge's jury: results appear here once the organiser publishes them. "
           "Readers open the personal link the organiser sent them.")
with st.form("organiser-sign-in"):
    secret = st.text_input("Organiser secret", type="password", key="organiser-secret")
    if st.form_submit_button("Sign in as organiser"):
        error = auth.sign_in_organiser(ws, secret)
        if error:
            st.error(error)
        else:
            st.rerun()
