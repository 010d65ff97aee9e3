"""Published results (jury mode, visitors and readers): the frozen snapshot, read-only, and its report."""

import pandas as pd
import streamlit as st

from gan_eval import publish, report
from gan_eval.scoring import leaderboard_rows
from ui import components, state

st.subheader("Published results")
ws = state.workspace()
try:
    snapshot = publish.latest(ws, with_assets=False)
except publish.SnapshotError as exc:
    st.error(components.text(exc))
    st.stop()
if snapshot is None:
    st.info("No results have been published yet.")
    st.stop()
result = snapshot.result
st.caption(f"Published {snapshot.published_at} · snapshot `{snapshot.digest}` · backbone **{result['backbone']}** · "
           f"seed {result['seed']} · {result['real']['n']} real cases. These numbers never change; a later "
           "evaluation is published as a new snapshot.")
rows = leaderboard_rows(result)
table = pd.DataFrame(rows).set_index("submission")
shown = components.leaderboard_columns(table)
st.dataframe(table[shown], width="stretch", column_config=components.column_config(shown))
full = publish.latest(ws)
st.download_button("Download the report (HTML, opens offline, prints to PDF)", report.render(full),
                   report.report_filename(full), "text/html", key="results-report")
