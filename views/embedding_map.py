"""Embedding map: 2D projection of the real cases and the submissions, cluster-selected cases highlighted."""

import streamlit as st

from gan_eval.cache import EmbeddingCache
from gan_eval.figures import embedding_map
from gan_eval.projection import METHOD_LABELS, METHODS
from gan_eval.workspace import REAL, service
from ui import components, state

ws = state.workspace()
result = components.evaluation(ws)
if result is None:
    st.stop()

st.subheader("Embedding map")
names = list(result["submissions"])
controls = st.columns([3, 1])
chosen = controls[0].multiselect("Submissions on the map (with the real cases)", names, default=names, key="map-sets")
method = controls[1].radio("Projection", METHODS, format_func=METHOD_LABELS.get, horizontal=True, key="map-method")

sets = [REAL] + chosen
points = service.map_points(result, {name: state.embeddings(ws, name) for name in sets}, chosen)
cache_dir = EmbeddingCache(ws.cache_dir).projections_dir
coords = points.projection(method, ws.seed, cache_dir, compute=False)
if coords is None:
    note = " UMAP compiles its kernels on first use in a new process (about a minute)." if method == "umap" else ""
    with st.spinner(f"Computing the {METHOD_LABELS[method]} map of {len(points.case_ids)} cases "
                    f"(stored for next time).{note}"):
        coords = points.projection(method, ws.seed, cache_dir)



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


st.plotly_chart(embedding_map(coords, points.set_names, points.case_ids, points.highlighted, METHOD_LABELS[method]),
                on_select=remember_selection, selection_mode=("points", "box", "lasso"), key="map-chart")
st.caption(f"Backbone **{result['backbone']}**. Click a point to open it; pick box or lasso select in the chart toolbar to see a gallery.")

picked = [p for p in st.session_state.get("map-selection", []) if p[0] in sets]
if picked:
    set_name, case_id = picked[0]
    if st.button(f"Open {components.text(set_name)} / {components.text(case_id)} in the case viewer", type="primary",
                 key="map-open"):
        st.session_state["viewer_case"] = (set_name, case_id)
        st.switch_page("views/case_viewer.py")
    st.markdown(f"**{len(picked)} selected case(s)**" + (" (first 12 shown)" if len(picked) > 12 else ""))
    components.gallery([(f"{s} / {c}", state.case_set(ws, s).by_id(c)) for s, c in picked[:12]], columns=3)
else:
    st.info("Select points on the map to preview their three sequences here.")
