"""Leaderboard: the challenge's table first, the other metrics grouped below, gauges for one team."""

import json

import pandas as pd
import streamlit as st

from gan_eval.csv_safe import dataframe_to_csv
from gan_eval.figures import accuracy_gauge, gauge
from gan_eval.scoring import leaderboard_rows
from gan_eval.workspace import service
from gan_eval.workspace import explore
from ui import components, state

ws = state.workspace()
result = components.leaderboard(ws)
if result is None:
    st.stop()

st.subheader("Leaderboard")
st.caption(f"Backbone **{result['backbone']}** · seed {result['seed']} · {result['real']['n']} real cases · "
           "FID score = 1 − FID / FID_max (largest FID here) · diversity = 1 − 2|acc − 0.5| · "
           "quantitative = mean of both · final = mean of quantitative and qualitative/20. "
           "Click a column heading to sort.")
rows = leaderboard_rows(result)
table = pd.DataFrame(rows).set_index("submission")
layout = explore.leaderboard_layout(rows)
components.table(table, layout.challenge, key="leaderboard-table", labels=layout.labels)
components.failed_submissions(result)
if "final_score" not in layout.challenge:
    st.caption("Qualitative and final scores appear here once the reader study is closed (Reader study → Organiser).")
for title, columns in layout.groups:
    with st.expander(title):
        components.table(table, columns, key=f"leaderboard-{title}")

exported = service.exportable(ws, result)
publishing = components.publication(ws, result)
downloads = st.columns(4)
downloads[0].download_button("Download CSV", dataframe_to_csv(pd.DataFrame(leaderboard_rows(exported))
                                                              .set_index("submission")).encode(),
                             "leaderboard.csv", "text/csv")
downloads[1].download_button("Download JSON", json.dumps(exported, indent=2).encode(), "leaderboard.json",
                             "application/json")
if downloads[2].button("Prepare the report", key="report-prepare", help="One HTML file: opens offline, prints to PDF"):
    with st.spinner("Drawing the report…"):
        st.session_state["report"] = service.report_download(ws, result)
if "report" in st.session_state:
    data, filename = st.session_state["report"]
    downloads[3].download_button("Download the report", data, filename, "text/html", key="report-download")

names = [row["submission"] for row in rows]  # best first, so the gauges open on the leader
chosen = st.selectbox("Submission", names, key="leaderboard-submission")
scores = result["submissions"][chosen]
gauges = st.columns(4)
gauges[0].plotly_chart(accuracy_gauge(scores["loo_accuracy"]), key="gauge-acc")
gauges[1].plotly_chart(gauge(scores["diversity_score"], "Diversity score"), key="gauge-div")
gauges[2].plotly_chart(gauge(scores["fid_score"], "FID score"), key="gauge-fid")
gauges[3].plotly_chart(gauge(scores["quantitative_score"], "Quantitative score"), key="gauge-quant")
lo, hi = scores["fid_ci95"]
st.caption(f"FID {scores['fid']:.2f} (95% bootstrap interval {lo:.2f}–{hi:.2f}); 1-NN accuracy on real points "
           f"{scores['loo_accuracy_real']:.1%}, on generated points {scores['loo_accuracy_generated']:.1%}. "
           "50% accuracy means real and generated cases are indistinguishable; near 100% means they are "
           "separable (low fidelity or mode collapse); near 0% means generated cases copy real ones.")
