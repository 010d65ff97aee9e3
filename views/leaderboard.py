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
rows = leaderboard_rows(result)
table = pd.DataFrame(rows).set_index("submission")
ranked = any(row["rank"] is not None for row in rows)
shown = (["rank", "final_score", "qualitative_score"] if ranked else []) + [
    "quantitative_rank", "quantitative_score", "fid_score", "diversity_score", "loo_accuracy", "loo_accuracy_real",
    "loo_accuracy_generated", "fid", "fid_ci95_low", "fid_ci95_high", "n", "kid", "precision", "recall", "density",
    "coverage", "memorized_fraction", "consistency"]
number, percent = st.column_config.NumberColumn, "percent"
st.dataframe(table[shown], width="stretch", key="leaderboard-table", column_config={
    "rank": number("Rank", help="By final score"),
    "final_score": number("Final", format="%.3f", help="(quantitative + qualitative / 20) / 2"),
    "qualitative_score": number("Qualitative /20", format="%.2f"),
    "quantitative_rank": number("Quant. rank"),
    "quantitative_score": number("Quantitative", format="%.3f", help="(diversity + FID score) / 2"),
    "fid_score": number("FID score", format="%.3f", help="1 - FID / FID_max"),
    "diversity_score": number("Diversity", format="%.3f", help="1 - 2|accuracy - 0.5|"),
    "loo_accuracy": number("1-NN acc.", format=percent, help="Leave-one-out 1-NN accuracy; 50% is ideal"),
    "loo_accuracy_real": number("acc. real", format=percent),
    "loo_accuracy_generated": number("acc. generated", format=percent),
    "fid": number("FID", format="%.2f"),
    "fid_ci95_low": number("FID 95% low", format="%.2f"),
    "fid_ci95_high": number("FID 95% high", format="%.2f"),
    "n": number("Cases"),
    "kid": number("KID", format="%.4f"),
    "precision": number("Precision", format="%.2f"),
    "recall": number("Recall", format="%.2f"),
    "density": number("Density", format="%.2f"),
    "coverage": number("Coverage", format="%.2f"),
    "memorized_fraction": number("Memorised", format=percent),
    "consistency": number("Seq. consistency", format="%.2f", help="Cross-sequence anatomy similarity"),
})
if not ranked:
    st.caption("Qualitative and final scores appear here once the reader study is closed (Reader study → Organiser).")

downloads = st.columns(4)
downloads[0].download_button("Download CSV", table.to_csv().encode(), "leaderboard.csv", "text/csv")
downloads[1].download_button("Download JSON", json.dumps(result, indent=2).encode(), "leaderboard.json",
                             "application/json")

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
