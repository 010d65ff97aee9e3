"""Case viewer: three sequences side by side, window/level, pixel values, zoom, mask overlay, nearest real case."""

import streamlit as st

from gan_eval.workspace import REAL
from gan_eval.workspace import explore
from ui import components, state

ws = state.workspace()
result = components.evaluation(ws)
if result is None:
    st.stop()

names = [REAL] + list(result["submissions"])
wanted_set, wanted_case = st.session_state.pop("viewer_case", (None, None))
if wanted_set in names:
    st.session_state["viewer-set"] = wanted_set
    st.session_state["viewer-mode"] = "Single case"

head = st.columns([2, 3], vertical_alignment="bottom")
head[0].subheader("Case viewer")
mode = head[1].segmented_control("Mode", ["Single case", "Cluster-selected gallery"], default="Single case",
                                 key="viewer-mode", label_visibility="collapsed") or "Single case"

if mode == "Cluster-selected gallery":
    set_name = st.selectbox("Set", names[1:], key="viewer-gallery-set")
    selected = result["submissions"][set_name]["selected_cases"]
    st.caption(f"The case nearest each of the {len(selected)} K-means centres (seed {result['seed']}): "
               "what the radiologists rate. Open one in the viewer with its button.")
    opened = components.clickable_gallery([(set_name, cid, state.case_set(ws, set_name).by_id(cid)) for cid in selected],
                                          key="viewer-gallery", columns=3)
    if opened:
        st.session_state["viewer_case"] = opened
        st.rerun()
    st.stop()

nav = st.columns([3, 4, 2, 2, 3, 3], vertical_alignment="bottom", gap="small")
set_name = nav[0].selectbox("Set", names, key="viewer-set")
cases = state.case_set(ws, set_name)
ids = cases.ids
if wanted_case in ids:
    st.session_state["viewer-index"] = ids.index(wanted_case)
index = st.session_state.setdefault("viewer-index", 0) % len(ids)
if nav[2].button("", icon=":material/chevron_left:", key="viewer-prev", help="Previous case (← key)", shortcut="left",
                 width="stretch"):
    index = (index - 1) % len(ids)
if nav[3].button("", icon=":material/chevron_right:", key="viewer-next", help="Next case (→ key)", shortcut="right",
                 width="stretch"):
    index = (index + 1) % len(ids)
index = ids.index(nav[1].selectbox(f"Case ({index + 1} of {len(ids)})", ids, index=index,
                                   key=f"viewer-case-{set_name}-{index}"))
st.session_state["viewer-index"] = index
case = cases[index]
display = components.display_controls("viewer", case, nav[4])
display = components.with_mask(display, nav[5].toggle("Outline", key="viewer-mask", help="Lesion outline"))
components.case_plot(case, display, key="viewer", title=f"{set_name} / {case.case_id}", height=300)

if set_name != REAL:
    report = explore.case_report(result, state.embeddings(ws, REAL), state.embeddings(ws, set_name), case.case_id)
    twin = state.case_set(ws, REAL).by_id(report.nearest_real)
    verdict = (f"below the memorisation threshold {report.alpha}: a suspected copy" if report.suspected_copy
               else f"above the memorisation threshold {report.alpha}: not a copy")
    st.markdown(f"**Nearest real case: {components.text(twin.case_id)}** — distance {report.distance:.2f} in "
                f"{report.backbone} space, ratio {report.ratio:.2f} to the typical real-to-real nearest-neighbour "
                f"distance ({report.typical:.2f}), {verdict}.")
    components.case_plot(twin, display, key="viewer-twin", title=f"real / {twin.case_id}", height=300,
                         zoom_key="viewer")
