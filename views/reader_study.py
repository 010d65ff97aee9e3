"""Reader study: blinded rating of the cluster-selected cases, and the organiser's view.

Jury mode: a reader (invite link) sees only the reading; the organiser only manages it (readers,
progress, closing). Demo mode: the jury password and a typed name, both tabs, as a conference
laptop needs."""

import io

import pandas as pd
import streamlit as st

from gan_eval import access, turing
from gan_eval import reader_scores as scale
from gan_eval import reader_study as rs
from gan_eval.access import Role
from gan_eval.workspace import service
from ui import auth, components, state

st.subheader("Reader study")
ws = state.workspace()
role = auth.role(ws)


def demo_sign_in() -> str | None:
    """Demo mode keeps the jury password and a typed name (no access control: see the notice)."""
    configured = rs.jury_password(st.secrets)
    if configured is None:
        st.warning(rs.JURY_PASSWORD_HELP)
        st.stop()
    if "reader" in st.session_state:
        return st.session_state["reader"]
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


if role is Role.DEMO:
    reader = demo_sign_in()
elif role is Role.READER:
    reader = auth.reader(ws).name
else:
    reader = None  # the organiser manages the reading; readers read

result = components.evaluation(ws, provisional=False)  # readers rate the final selection only
if result is None:
    st.stop()
service.sync_reading_pool(ws, result)
selection = service.reading_pool(ws, result)  # the teams' selected cases, and real ones in a Turing test
study = service.reader_study(ws)
if reader is not None:
    st.caption(f"Signed in as **{components.text(reader)}**.")
tabs = {Role.DEMO: ["Read cases", "Organiser"], Role.READER: ["Read cases"], Role.ORGANISER: ["Organiser"]}[role]
panels = dict(zip(tabs, st.tabs(tabs)))


def read_cases(reader: str) -> None:
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
            verdict = turing_question(item) if turing_on else None
            buttons = st.columns(3)
            back = buttons[0].form_submit_button("◀ Back", width="stretch")
            skip = buttons[1].form_submit_button("Skip ▶", width="stretch")
            save = buttons[2].form_submit_button("Save and next", type="primary", width="stretch")
        missing = [c.label for c in scale.CRITERIA if values[c.key] is None]
        if turing_on and None in verdict:
            missing.append("real or generated, and how sure")
        if save and missing:
            form.warning(f"Rate every criterion before saving (missing: {', '.join(missing)}), or skip the case.")
            save = False
        elif save:
            study.save_ratings(reader, item, values, verdict=verdict)
        if save or skip:
            st.session_state["reading-item"] = study.next_unrated(reader, after=item) or order[(position + 1) % len(order)]
            st.rerun()
        if back:
            st.session_state["reading-item"] = order[position - 1]
            st.rerun()



turing_on = study.turing_setting().enabled


def turing_question(item: str) -> tuple[str | None, int | None]:
    """The visual Turing test's question for one case: real or generated, and how sure."""
    before = study.verdict_for(reader, item)
    cols = st.columns(2)
    says = cols[0].radio(turing.QUESTION, turing.ANSWERS, horizontal=True, key=f"turing-says-{item}",
                         index=turing.ANSWERS.index(before.says) if before else None)
    levels = list(turing.CONFIDENCE_LABELS)
    confidence = cols[1].radio("How sure?", levels, format_func=turing.CONFIDENCE_LABELS.get, horizontal=True,
                               key=f"turing-confidence-{item}",
                               index=levels.index(before.confidence) if before else None)
    return says, confidence


def own_ratings(reader: str) -> None:
    """After closing, a reader sees the ratings they gave (and nobody else's)."""
    mine = [r for r in study.ratings(selected=selection) if r.reader == study.reader_name(reader)]
    if mine:
        st.dataframe(pd.DataFrame([r._asdict() for r in mine]).drop(columns=["team"], errors="ignore"),
                     hide_index=True)


def organise() -> None:
    audit = access.AuditLog(ws.audit_log)
    invites = access.Invites(ws.access_db)
    invited = [r for r in invites.readers() if r.active] if role is Role.ORGANISER else []
    progress = study.progress_by_team([r.name for r in invited])
    st.markdown("#### Reading progress")
    if progress:
        st.dataframe(pd.DataFrame({reader: {team: f"{rated}/{total}" for team, (rated, total) in teams.items()}
                                   for reader, teams in progress.items()}).T, width="stretch")
    else:
        st.info("No reader yet.")
    if role is Role.ORGANISER:
        manage_readers(invites, audit)

    if not study.is_closed():
        turing_setup(audit)
        missing = scale.unread_summary(progress) if progress else ["no case has been read"]
        if missing:
            st.warning("Not everything is read: " + "; ".join(components.text(line) for line in missing) + ".")
        sure = not missing or st.checkbox("Close anyway, with these cases unread", key="close-anyway")
        if st.button("Close reading and un-blind the results", disabled=not sure, key="close-reading"):
            study.close_reading()
            audit.append(auth.actor(ws), "close reading", unread=missing)
            st.rerun()
        st.caption("Team results stay hidden while reading is open.")
        return
    if st.button("Reopen reading", key="reopen-reading"):
        study.reopen()
        audit.append(auth.actor(ws), "reopen reading")
        st.rerun()
    qualitative = study.qualitative_scores(selected=selection)
    agreement = study.agreement(selected=selection)
    agreement_text = (f"ICC(2,1) {agreement.icc:.2f}, Kendall's W {agreement.kendall_w:.2f} "
                      f"({agreement.n_readers} readers, {agreement.n_cases} cases)"
                      if agreement.reason is None else agreement.reason)
    st.markdown(f"#### Qualitative scores (0–20) · agreement: {agreement_text}")
    reading_results()
    st.dataframe(pd.DataFrame(study.criterion_means(selected=selection)).T.assign(
        qualitative=pd.Series(qualitative)))
    n_stale = len(study.stale_items())
    if n_stale:
        st.caption(f"{n_stale} rated case(s) no longer selected: ratings kept, in the CSV (stale = 1), "
                   "left out of the scores.")
    buffer = io.StringIO()
    study.export_csv(buffer, selected=selection)
    st.download_button("Download ratings (CSV)", buffer.getvalue().encode(), "reader_study.csv", "text/csv")


def turing_setup(audit: access.AuditLog) -> None:
    """Mix real cases into the pool (the visual Turing test): set before reading starts."""
    setting = study.turing_setting()
    cols = st.columns([2, 1], vertical_alignment="bottom")
    enabled = cols[0].toggle("Visual Turing test: mix real cases into the reading and ask readers real or "
                             "generated", value=setting.enabled, key="turing-enabled")
    n_real = cols[1].number_input("Real cases", 2, 50, setting.n_real, key="turing-n-real")
    if (enabled, n_real) != (setting.enabled, setting.n_real):
        study.set_turing(enabled, n_real=int(n_real))
        audit.append(auth.actor(ws), "turing test", enabled=enabled, real_cases=int(n_real))
        st.rerun()


def reading_results() -> None:
    """Intervals, agreement with intervals, the real cases' ceiling and the Turing test's rates."""
    summary = service.reading_summary(ws, result)
    intervals = pd.DataFrame({team: {"estimate": i.estimate, "95% low": i.low, "95% high": i.high,
                                     "reads": f"{summary['reads'][team].done}/{summary['reads'][team].expected}"
                                     if team in summary["reads"] else "—"}
                              for team, i in summary["qualitative"].items()}).T
    st.dataframe(intervals, width="stretch")
    a = summary["agreement"]
    parts = [f"{label} {i.estimate:.2f} [{i.low:.2f}, {i.high:.2f}]" for label, i in
             (("ICC(2,1)", a.icc), ("Kendall's W", a.kendall_w), ("Krippendorff's alpha", a.krippendorff_alpha))
             if i is not None and i.low is not None]
    st.caption("Agreement with 95% intervals (bootstrap over cases): " + ("; ".join(parts) or (a.reason or "—")))
    if summary["ceiling"] is not None:
        st.caption(f"Real cases' qualitative score (the scale's ceiling): {summary['ceiling'].qualitative:.2f} / 20")
    if summary["detection"]:
        st.markdown("#### Visual Turing test")
        st.dataframe(pd.DataFrame({reader: {"accuracy": d.accuracy, "sensitivity": d.sensitivity,
                                            "specificity": d.specificity, "reads": d.n_reads}
                                   for reader, d in summary["detection"].items()}).T, width="stretch")
        st.dataframe(pd.DataFrame(summary["turing"]).T, width="stretch")


def manage_readers(invites: access.Invites, audit: access.AuditLog) -> None:
    """Invite readers (each gets a personal link, shown once) and revoke invites."""
    st.markdown("#### Readers")
    with st.form("invite", clear_on_submit=True):
        name = st.text_input("Reader's name", key="invite-name")
        if st.form_submit_button("Create invite link") and name.strip():
            try:
                reader, token = invites.create(name)
            except ValueError as exc:
                st.error(components.text(exc))
            else:
                audit.append(auth.actor(ws), "invite reader", reader=reader.name)
                st.session_state["new-invite"] = (reader.name, token)
                st.rerun()  # the progress table above now lists the new reader
    if "new-invite" in st.session_state:
        name, token = st.session_state.pop("new-invite")
        st.success(f"Invite for {components.text(name)}: send this link (it is shown only now).")
        st.code(f"{auth.app_url()}?{auth.INVITE_PARAM}={token}", language=None)
    active = [r for r in invites.readers() if r.active]
    if active:
        doomed = st.selectbox("Revoke the invite of", [r.name for r in active], key="revoke-name")
        if st.button("Revoke", key="revoke"):
            revoked = invites.revoke(next(r.id for r in active if r.name == doomed))
            audit.append(auth.actor(ws), "revoke reader", reader=revoked.name)
            st.rerun()
    with st.expander("Audit log"):
        entries = audit.entries()
        if entries:
            st.dataframe(pd.DataFrame(entries[::-1]), hide_index=True, width="stretch")
        else:
            st.caption("No organiser action yet.")


if "Read cases" in panels:
    with panels["Read cases"]:
        read_cases(reader)
        if study.is_closed():
            own_ratings(reader)
if "Organiser" in panels:
    with panels["Organiser"]:
        organise()
