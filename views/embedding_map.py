"""Embedding map: 2D projection of the real cases and the submissions, cluster-selected cases highlighted."""

import numpy as np
import streamlit as st

from gan_eval.figures import embedding_map
from gan_eval.projection import METHOD_LABELS, METHODS, cached_projection, project
from gan_eval.workspace import REAL
from ui import components, state

ws = state.workspace()
result = state.evaluation(ws)
if result is None:
    st.stop()

st.subheader("Embedding map")
names = list(result["submissions"])
controls = st.columns([3, 1])
chosen = controls[0].multiselect("Submissions on the map (with the real cases)", names, default=names, key="map-sets")
method = controls[1].radio("Projection", METHODS, format_func=METHOD_LABELS.get, horizontal=True, key="map-method")

sets = [REAL] + chosen
embeddings = {name: state.embeddings(ws, name) for name in sets}
features = np.concatenate([embeddings[n].features for n in sets])
set_names = [n for n in sets for _ in range(len(embeddings[n]))]
case_ids = [cid for n in sets for cid in embeddings[n].case_ids]
selected = {(n, cid) for n in chosen for cid in result["submissions"][n]["selected_cases"]}
highlighted = np.array([(n, c) in selected for n, c in zip(set_names, case_ids)])

cache_dir = ws.root / "projections"
coords = cached_projection(features, method, ws.seed, cache_dir)
if coords is None:
    note = " UMAP compiles its kernels on first use in a new process (about a minute)." if method == "umap" else ""
    with st.spinner(f"Computing the {METHOD_LABELS[method]} map of {len(features)} cases (stored for next time).{note}"):
        coords = project(features, method, seed=ws.seed, cache_dir=cache_dir)



def remember_selection() -> None:
    """Keep the selected points as (set, case id) pairs; plotly returns customdata as a list or,
    through Streamlit, as a dict with string keys."""
    points = st.session_state["map-chart"]["selection"]["points"]
    picked = []
    for point in points:
        data = point.get("customdata")
        if data:
            values = list(data.values()) if isinstance(data, dict) else list(data)
            picked.append((values[0], values[1]))
    st.session_state["map-selection"] = picked


st.plotly_chart(embedding_map(coords, set_names, case_ids, highlighted, METHOD_LABELS[method]),
                on_select=remember_selection, selection_mode=("points", "box", "lasso"), key="map-chart")
st.caption(f"Backbone **{result['backbone']}**. Click a point to open it; pick box or lasso select in the chart toolbar to see a gallery.")

picked = [p for p in st.session_state.get("map-selection", []) if p[0] in sets]
if picked:
    set_name, case_id = picked[0]
    if st.button(f"Open {set_name} / {case_id} in the case viewer", type="primary", key="map-open"):
        st.session_state["viewer_case"] = (set_name, case_id)
        st.switch_page("views/case_viewer.py")
    st.markdown(f"**{len(picked)} selected case(s)**" + (" (first 12 shown)" if len(picked) > 12 else ""))
    components.gallery([(f"{s} / {c}", state.case_set(ws, s).by_id(c)) for s, c in picked[:12]], columns=3)
else:
    st.info("Select points on the map to preview their three sequences here.")
