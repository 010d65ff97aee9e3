"""Leaderboard: the challenge's table first, the other metrics grouped below, how sure the ranking
is, what a perfect generator would score (the noise floor), and gauges for one team."""

import json

import pandas as pd
import streamlit as st

from gan_eval.csv_safe import dataframe_to_csv
from gan_eval.figures import accuracy_gauge, gauge
from gan_eval.metrics import registry
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

# -- comparing submissions fairly ------------------------------------------------------------------
fmt = lambda key, value: registry.output(key).format(value)  # noqa: E731 - every number as the registry shows it
sizes = sorted({row["n"] for row in rows})
if result["sizes_differ"]:
    st.warning(f"Submissions have different sizes ({', '.join(map(str, sizes))} cases). FID is biased upwards "
               f"for fewer cases and its 95% interval covers only the estimator at that size, so compare "
               f"**FID @ n** (every submission at n = {result['fid_matched_n']} generated cases) or **FD∞** "
               "(extrapolated to infinitely many), not FID.")
warned = [row["submission"] for row in rows if row.get("loo_chance_warning")]
if warned:
    st.info("Chance-level 1-NN accuracy for these sizes is not 50%: "
            + "; ".join(f"{components.text(n)} {fmt('loo_chance_accuracy', result['submissions'][n]['loo_chance_accuracy'])}"
                        for n in warned)
            + ". Read their accuracy against that chance level (the permutation p-value does); a diversity "
              "of 1 is out of reach for them by that margin.")

def rank_tables(teams: list[str], rank: str, interval: str, probabilities: str, pairwise: dict, key: str) -> None:
    """Rank (95% interval) and P(rank = k) per team, then P(A beats B): what the library computed."""
    subs = result["submissions"]
    ranks = pd.DataFrame({
        "rank (95%)": [f"{subs[t][rank]} ({fmt(interval, subs[t][interval])})" for t in teams],
        **{f"P(rank {r + 1})": [fmt(probabilities, subs[t][probabilities][r]) for t in teams]
           for r in range(len(teams))}}, index=teams)
    st.dataframe(ranks, width="stretch", key=f"{key}-probabilities")
    beats = pd.DataFrame({b: [registry.MISSING if a == b else fmt("rank_pairwise", pairwise[a][b]) for a in teams]
                          for b in teams},
                         index=teams)
    st.caption(f"{registry.output('rank_pairwise').label}, row A against column B: "
               f"{registry.output('rank_pairwise').help}.")
    st.dataframe(beats, width="stretch", key=f"{key}-pairwise")


st.markdown("#### How sure is the ranking?")
confidence = result["rank_confidence"]
teams = sorted(confidence["teams"], key=lambda t: result["submissions"][t]["quantitative_rank"])  # best first
if teams:
    st.caption(f"{confidence['resamples']} resamples, each keeping a random {confidence['fraction']:.0%} of the real "
               f"cases and of every team's cases ({confidence['scheme']}); every quantitative score recomputed, "
               "FID_max included. Rank shown as reported rank (95% interval).")
    rank_tables(teams, "quantitative_rank", "rank_ci95", "rank_probabilities", confidence["pairwise"], "rank")
finalists = sorted((t for t in teams if result["submissions"][t].get("final_rank_probabilities")),
                   key=lambda t: result["submissions"][t]["rank"])
if finalists:
    st.markdown("##### Final score")
    st.caption("The same half-samples, each paired with a resample of the readers (the same for every team) and of "
               "each team's rated cases.")
    rank_tables(finalists, "rank", "final_rank_ci95", "final_rank_probabilities", confidence["final_pairwise"],
                "final-rank")

floor, spread = result["noise_floor"], result["noise_floor_spread"]
if floor:
    sizes_floor = result["noise_floor_sizes"]
    st.markdown("#### Noise floor: real versus real")
    st.caption(f"What a perfect generator scores: {sizes_floor['compared']} real cases against "
               f"{sizes_floor['reference']} others, mean ± sd over {sizes_floor['splits']} random splits of the real "
               "set. A submission within this spread is indistinguishable from real cases by that metric. "
               "Size-dependent numbers (FID, 1-NN accuracy) are measured at these half sizes, so the floor is a "
               "conservative reference for them; KID, precision, recall and coverage compare directly.")
    st.dataframe(pd.DataFrame({"real vs real": [f"{fmt(k, v)} ± {fmt(k, spread[k])}" for k, v in floor.items()]},
                              index=[registry.output(k).label for k in floor]).T, width="stretch", key="noise-floor")

agreement = {pair: tau for pair, tau in result["rank_agreement"].items() if tau is not None}
if agreement:
    st.caption("Rank agreement between feature spaces (Kendall's τ of the rankings by Fréchet distance; 1 = the "
               "same order): " + " · ".join(f"{pair} {fmt('rank_agreement', tau)}" for pair, tau in agreement.items())
               + ". FRD is the Fréchet distance on radiomic features (no network).")

names = [row["submission"] for row in rows]  # best first, so the gauges open on the leader
chosen = st.selectbox("Submission", names, key="leaderboard-submission")
scores = result["submissions"][chosen]
gauges = st.columns(4)
gauges[0].plotly_chart(accuracy_gauge(scores["loo_accuracy"]), key="gauge-acc")
gauges[1].plotly_chart(gauge(scores["diversity_score"], "Diversity score"), key="gauge-div")
gauges[2].plotly_chart(gauge(scores["fid_score"], "FID score"), key="gauge-fid")
gauges[3].plotly_chart(gauge(scores["quantitative_score"], "Quantitative score"), key="gauge-quant")
matched = "" if scores["fid_matched"] is None else (
    f"; at n = {scores['fid_matched_n']}: {fmt('fid_matched', scores['fid_matched'])} "
    f"({fmt('fid_matched_ci95', scores['fid_matched_ci95'])})")
st.caption(f"FID {fmt('fid', scores['fid'])} (95% bootstrap interval {fmt('fid_ci95', scores['fid_ci95'])}){matched}; "
           f"FD∞ {fmt('fd_inf', scores['fd_inf'])}. 1-NN accuracy on real points "
           f"{fmt('loo_accuracy_real', scores['loo_accuracy_real'])}, on generated points "
           f"{fmt('loo_accuracy_generated', scores['loo_accuracy_generated'])}; chance level for this size "
           f"{fmt('loo_chance_accuracy', scores['loo_chance_accuracy'])}, permutation p = "
           f"{fmt('loo_pvalue', scores['loo_pvalue'])} (1-NN) and {fmt('fid_pvalue', scores['fid_pvalue'])} (FID): "
           "a small p means these cases are distinguishable from the real ones at this sample size. Accuracy at "
           "the chance level means indistinguishable; near 100% separable (low fidelity or mode collapse); near "
           "0% generated cases copy real ones.")
