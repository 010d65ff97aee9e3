"""Embedding map: 2D projection of the real cases and the submissions, cluster-selected cases highlighted."""

import streamlit as st

from gan_eval.cache import EmbeddingCache
from gan_eval.figures import embedding_map, map_hover
from gan_eval.projection import METHOD_LABELS, METHODS
from gan_eval.workspace import REAL
from gan_eval.workspace import explore
from ui import components, state

PAGE_SIZE = 12  # thumbnails per page of a selection

ws = state.workspace()
result = components.evaluation(ws)
if result is None:
    st.stop()

st.subheader("Embedding map")
names = list(result["submissions"])
controls = st.columns([3, 1])
chosen = controls[0].multiselect("Submissions on the map (with the real cases)", names, default=names, key="map-sets")
method = controls[1].radio("Projection", METHODS, format_func=METHOD_LABELS.get, horizontal=True, key="map-method")

# One map of every set, computed in the background when scoring ends; the chosen sets are shown from it.
points = explore.all_map_points(result, {name: state.embeddings(ws, name) for name in [REAL, *names]})
cache_dir = EmbeddingCache(ws.cache_dir).projections_dir
coords = points.projection(method, ws.seed, cache_dir, compute=method == "pca")
shown_method = method
if coords is None:
    job = state.maps_job(ws, result)
    coords, shown_method = points.projection("pca", ws.seed, cache_dir), "pca"
    components.wait_for_map(job, METHOD_LABELS[method])

rows = explore.map_rows(points, chosen)
picked = [p for p in st.session_state.get("map-selection", []) if p[0] in {REAL, *chosen}]
details = explore.map_hover_details(points, result, state.embeddings(ws, REAL))
hover = [map_hover(s, c, d) for s, c, d in zip(points.set_names, points.case_ids, details)]
ringed = [list(rows).index(r) for r in explore.selected_rows(points, picked) if r in set(rows)]
figure = embedding_map(coords[rows], [points.set_names[r] for r in rows], [points.case_ids[r] for r in rows],
                       points.highlighted[rows], METHOD_LABELS[shown_method], colours=ws.team_colours(),
                       hover=[hover[r] for r in rows], selected=ringed, uirevision=f"map-{shown_method}")


def remember_selection() -> None:
    """Keep the clicked or selected points as (set, case id) pairs."""
    st.session_state["map-selection"] = explore.picked_cases(st.session_state["map-chart"]["selection"]["points"])
    st.session_state.pop("map-page", None)


map_col, side = st.columns([5, 2])
with map_col:
    st.plotly_chart(figure, on_select=remember_selection, selection_mode=("points", "box", "lasso"), key="map-chart",
                    config={"displaylogo": False, "scrollZoom": True})
    st.caption(f"Backbone **{result['backbone']}**. Rest the pointer on a point to preview it; click one to keep it; "
               "box or lasso select (chart toolbar) for a gallery below. Circled: your selection.")


def open_case(set_name: str, case_id: str) -> None:
    st.session_state["viewer_case"] = (set_name, case_id)
    st.switch_page("views/case_viewer.py")


@st.fragment
def hover_preview() -> None:
    """The case under the pointer; a new one reruns only this panel."""
    hovered = components.hovered_point("map-chart", key="map-hovered")
    rows = explore.selected_rows(points, [hovered]) if hovered else []
    if not rows:  # nothing yet, or a pair from the browser that names no case on the map
        st.caption("Rest the pointer on a point to preview it here; click it to keep it below.")
        return
    set_name, case_id = hovered
    st.markdown(f"Under the pointer: **{components.text(set_name)} / {components.text(case_id)}**")
    st.image(components.thumbnail(state.case_set(ws, set_name).by_id(case_id), 90), width="stretch")


with side, st.container(key="map-hover-preview", border=True):
    hover_preview()

with side, st.container(key="map-preview"):
    if picked:
        set_name, case_id = picked[0]
        case = state.case_set(ws, set_name).by_id(case_id)
        st.markdown(f"**{components.text(set_name)} / {components.text(case_id)}**")
        st.image(components.thumbnail(case, 110), width="stretch")
        st.caption(components.text(details[explore.selected_rows(points, [picked[0]])[0]].replace("<br>", " · ")))
        if st.button(f"Open {components.text(case_id)}", type="primary", key="map-open", icon=":material/image:",
                     help="In the case viewer, with its nearest real case",
                     width="stretch"):
            open_case(set_name, case_id)
        if st.button("Clear selection", key="map-clear", width="stretch"):
            st.session_state["map-selection"] = []
            st.rerun()
    else:
        st.info("Click a point to keep it here, with a button that opens it in the case viewer.")

if len(picked) > 1:
    counts = explore.selection_counts(picked, [REAL, *chosen])
    st.markdown(f"**{len(picked)} selected cases** — " + " · ".join(f"{components.text(n)}: {k}" for n, k in counts.items()))
    pages = (len(picked) - 1) // PAGE_SIZE + 1
    page = 0
    if pages > 1:
        page = st.columns([1, 3])[0].number_input(f"Page (of {pages}, {PAGE_SIZE} cases each)", 1, pages, 1,
                                                  key="map-page") - 1
    shown = picked[page * PAGE_SIZE:(page + 1) * PAGE_SIZE]
    opened = components.clickable_gallery([(s, c, state.case_set(ws, s).by_id(c)) for s, c in shown], key="map-grid")
    if opened:
        open_case(*opened)
