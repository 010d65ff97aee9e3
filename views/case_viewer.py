"""Case viewer: three sequences side by side, window/level, zoom, mask overlay, nearest real case."""

import streamlit as st

from gan_eval.workspace import REAL, service
from ui import components, state

ws = state.workspace()
result = components.evaluation(ws)
if result is None:
    st.stop()

st.subheader("Case viewer")
names = [REAL] + list(result["submissions"])
wanted_set, wanted_case = st.session_state.pop("viewer_case", (None, None))
if wanted_set in names:
    st.session_state["viewer-set"] = wanted_set
mode = st.radio("Mode", ["Single case", "Cluster-selected gallery"], horizontal=True, key="viewer-mode")
set_name = st.selectbox("Set", names, key="viewer-set")
cases = state.case_set(ws, set_name)

if mode == "Cluster-selected gallery":
    if set_name == REAL:
        st.info("The gallery shows a submission's 10 K-means-selected cases: choose a submission.")
        st.stop()
    selected = result["submissions"][set_name]["selected_cases"]
    st.caption(f"The case nearest each of the {len(selected)} K-means centres (seed {result['seed']}): "
               "what the radiologists rate.")
    components.gallery([(cid, cases.by_id(cid)) for cid in selected], columns=2)
    st.stop()

ids = cases.ids
if wanted_case in ids:
    st.session_state["viewer-index"] = ids.index(wanted_case)
index = st.session_state.setdefault("viewer-index", 0) % len(ids)
nav = st.columns([1, 1, 4], vertical_alignment="bottom")
if nav[0].button("◀ Previous", key="viewer-prev"):
    index = (index - 1) % len(ids)
if nav[1].button("Next ▶", key="viewer-next"):
    index = (index + 1) % len(ids)
index = ids.index(nav[2].selectbox("Case", ids, index=index, key=f"viewer-case-{set_name}-{index}"))
st.session_state["viewer-index"] = index
case = cases[index]
display = components.case_viewer(case, key="viewer", title=f"{set_name} / {case.case_id}")

if set_name != REAL:
    report = service.case_report(result, state.embeddings(ws, REAL), state.embeddings(ws, set_name), case.case_id)
    twin = state.case_set(ws, REAL).by_id(report.nearest_real)
    verdict = (f"below the memorisation threshold {report.alpha}: a suspected copy" if report.suspected_copy
               else f"above the memorisation threshold {report.alpha}: not a copy")
    st.markdown(f"**Nearest real case: {components.text(twin.case_id)}** — distance {report.distance:.2f} in "
                f"{report.backbone} space, ratio {report.ratio:.2f} to the typical real-to-real nearest-neighbour "
                f"distance ({report.typical:.2f}), {verdict}.")
    components.case_plot(twin, display, key="viewer-twin", title=f"real / {twin.case_id}")
