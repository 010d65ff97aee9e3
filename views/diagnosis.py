"""Diagnosis: is a submission healthy, collapsed, memorising, low-fidelity or inconsistent, and why."""

import streamlit as st

from gan_eval import diagnosis
from gan_eval.figures import distance_histograms
from gan_eval.workspace import REAL
from ui import components, state

ws = state.workspace()
result = components.evaluation(ws)
if result is None:
    st.stop()

st.subheader("Diagnosis")
name = st.selectbox("Submission", list(result["submissions"]), key="diag-set")
scores = result["submissions"][name]

for finding in diagnosis.diagnose(scores):
    show = {"ok": st.success, "warning": st.warning, "problem": st.error}[finding.severity]
    show(f"**{finding.label.capitalize()}** — {finding.because}")
with st.expander("Thresholds used"):
    st.markdown(
        f"- memorisation: 1-NN accuracy < {diagnosis.MEMORISATION_ACCURACY:.0%} or memorised fraction > "
        f"{diagnosis.MEMORISED_FRACTION:.0%}\n"
        f"- mode collapse: accuracy > {diagnosis.SEPARABLE_ACCURACY:.0%}, precision ≥ {diagnosis.LOW_FIDELITY_PRECISION} "
        f"and recall < {diagnosis.COLLAPSE_RECALL}\n"
        f"- low fidelity: accuracy > {diagnosis.SEPARABLE_ACCURACY:.0%} and precision < "
        f"{diagnosis.LOW_FIDELITY_PRECISION}\n"
        "- inconsistent sequences: mean cross-sequence anatomy similarity below the real set's 5th percentile\n"
        f"- distinguishable (warning): accuracy > {diagnosis.SEPARABLE_ACCURACY:.0%} with none of the above\n"
        f"- healthy: none of the above. Backbone **{result['backbone']}**, seed {result['seed']}.")

real, generated = state.embeddings(ws, REAL), state.embeddings(ws, name)
st.plotly_chart(distance_histograms(diagnosis.nearest_neighbour_distances(real.features, generated.features)),
                key="diag-hist")
st.caption("Generated→real distances far left of real→real: copies. Generated→generated far left of real→real: "
           "mode collapse. Generated→real far right: low fidelity.")

copies = scores["suspected_copies"]
st.markdown(f"#### Suspected copies ({len(copies)})")
if not copies:
    st.info("No generated case is much closer to a real case than real cases are to each other.")
else:
    real_cases, gen_cases = state.case_set(ws, REAL), state.case_set(ws, name)
    for copy in copies[:5]:
        st.caption(f"{components.text(copy['generated'])} ↔ real {components.text(copy['real'])}: "
                   f"distance {copy['distance']:.2f} "
                   f"({copy['ratio']:.2f} × the typical real-to-real distance)")
        components.gallery([(f"{name} / {copy['generated']}", gen_cases.by_id(copy['generated'])),
                            (f"real / {copy['real']}", real_cases.by_id(copy['real']))], columns=2)
    if len(copies) > 5:
        st.caption(f"… and {len(copies) - 5} more (full list in the leaderboard's JSON export).")
