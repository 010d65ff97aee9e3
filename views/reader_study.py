"""Reader study: blinded rating of the cluster-selected cases, and the organiser's view."""

import io

import pandas as pd
import streamlit as st

from gan_eval import reader_scores as scale
from gan_eval import reader_study as rs
from gan_eval.workspace import service
from ui import components, state

st.subheader("Reader study")
configured = rs.jury_password(st.secrets)
if configured is None:
    st.warning(rs.JURY_PASSWORD_HELP)
    st.stop()

if "reader" not in st.session_state:
    with st.form("sign-in"):
        reader = st.text_input("Your name (as it should appear in the study)")
        password = st.text_input("Jury password", type="password")
        if st.form_submit_button("Sign in"):
            if not reader.strip():
                st.error("Enter your name to sign in.")
            elif not rs.check_password(password, configured):
                st.error("Wrong jury password.")
            else:
                try:
                    st.session_state["reader"] = rs.normalise_reader(reader)
                except ValueError as exc:
                    st.error(components.text(exc))
                else:
                    st.rerun()
    st.stop()

ws = state.workspace()
result = components.evaluation(ws, provisional=False)  # readers rate the final selection only
if result is None:
    st.stop()
service.sync_reading_pool(ws, result)
selection = service.reading_selection(result)
study = service.reader_study(ws)
reader = st.session_state["reader"]
st.caption(f"Signed in as **{components.text(reader)}**.")
reading, organiser = st.tabs(["Read cases", "Organiser"])

with reading:
    order = study.reader_order(reader)
    rated, total = study.progress(reader)
    st.progress(rated / total if total else 0.0, text=f"{rated} of {total} cases rated")
    if study.is_closed():
        st.info("Reading is closed. The organiser can reopen it.")
    elif not order:
        st.info("No case to read yet.")
    else:
        if st.session_state.get("reading-item") not in order:
            st.session_state["reading-item"] = study.next_unrated(reader) or order[0]
        item = st.session_state["reading-item"]
        position = order.index(item)
        team, case_id = study.item_reference(item)
        previous = study.ratings_for(reader, item)
        # Compact reading layout: the images and the rating form side by side (one screen per case).
        images, form = st.columns([3, 2], gap="medium")
        with images:
            st.markdown(f"**Case {position + 1} of {len(order)}**")
            components.case_viewer(state.case_set(ws, team).by_id(case_id), key="reading", mask_toggle=False,
                                   height=280)
        with form, st.form("rating", border=False):
            st.caption("Rate each criterion from 0 (no / not at all) to 4 (yes / fully). A saved case can be "
                       "re-rated by coming back to it.")
            values = {c.key: st.radio(c.question, range(scale.RATING_MIN, scale.RATING_MAX + 1), horizontal=True,
                                      index=previous.get(c.key), key=f"rate-{c.key}-{item}")
                      for c in scale.CRITERIA}
            buttons = st.columns(3)
            back = buttons[0].form_submit_button("◀ Back", width="stretch")
            skip = buttons[1].form_submit_button("Skip ▶", width="stretch")
            save = buttons[2].form_submit_button("Save and next", type="primary", width="stretch")
        missing = [c.label for c in scale.CRITERIA if values[c.key] is None]
        if save and missing:
            form.warning(f"Rate every criterion before saving (missing: {', '.join(missing)}), or skip the case.")
            save = False
        elif save:
            study.save_ratings(reader, item, values)
        if save or skip:
            st.session_state["reading-item"] = study.next_unrated(reader, after=item) or order[(position + 1) % len(order)]
            st.rerun()
        if back:
            st.session_state["reading-item"] = order[position - 1]
            st.rerun()

with organiser:
    progress = study.progress_all()
    st.markdown("#### Reading progress")
    if progress:
        st.dataframe(pd.DataFrame([{"reader": r, "rated": n, "total": t} for r, (n, t) in progress.items()]),
                     hide_index=True)
    else:
        st.info("No ratings yet.")
    closed = st.toggle("Reading closed (results un-blinded)", value=study.is_closed(), key="reading-closed")
    if closed != study.is_closed():
        study.close_reading() if closed else study.reopen()
        st.rerun()
    if closed:
        qualitative = study.qualitative_scores(selected=selection)
        agreement = study.agreement(selected=selection)
        agreement_text = (f"ICC(2,1) {agreement.icc:.2f}, Kendall's W {agreement.kendall_w:.2f} "
                          f"({agreement.n_readers} readers, {agreement.n_cases} cases)"
                          if agreement.reason is None else agreement.reason)
        st.markdown(f"#### Qualitative scores (0–20) · agreement: {agreement_text}")
        st.dataframe(pd.DataFrame(study.criterion_means(selected=selection)).T.assign(
            qualitative=pd.Series(qualitative)))
        n_stale = len(study.stale_items())
        if n_stale:
            st.caption(f"{n_stale} rated case(s) no longer selected: ratings kept, in the CSV (stale = 1), "
                       "left out of the scores.")
        buffer = io.StringIO()
        study.export_csv(buffer, selected=selection)
        st.download_button("Download ratings (CSV)", buffer.getvalue().encode(), "reader_study.csv", "text/csv")
    else:
        st.caption("Team results stay hidden while reading is open.")
