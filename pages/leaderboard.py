"""Leaderboard: every submission's challenge scores and beyond-challenge metrics, with gauges."""

import json

import pandas as pd
import streamlit as st

from gan_eval.figures import accuracy_gauge, gauge
from gan_eval.scoring import leaderboard_rows
from ui import state

ws = state.workspace()
result = state.leaderboard(ws)
if result is None:
    st.stop()

st.subheader("Leaderboard")
st.caption(f"Backbone **{result['backbone']}** · seed {result['seed']} · {result['real']['n']} real cases · "
           "FID score = 1 − FID / FID_max (largest FID here) · diversity = 1 − 2|acc − 0.5| · "
           "quantitative = mean of both · final = mean of quantitative and qualitative/20.")
table = pd.DataFrame(leaderboard_rows(result)).set_index("submission")
st.dataframe(table, width="stretch", key="leaderboard-table")

downloads = st.columns(4)
downloads[0].download_button("Download CSV", table.to_csv().encode(), "leaderboard.csv", "text/csv")
downloads[1].download_button("Download JSON", json.dumps(result, indent=2).encode(), "leaderboard.json",
                             "application/json")

names = list(result["submissions"])
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
