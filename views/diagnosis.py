"""Diagnosis: is a submission healthy, collapsed, memorising, low-fidelity, inconsistent, mis-oriented
or too small to judge, and why."""

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
        f"- too small to judge (warning): the chance-level 1-NN accuracy of one batch against the real cases is "
        f"more than {diagnosis.CHANCE_TOLERANCE:.0%} away from 50%; the accuracy bands below are then not applied\n"
        f"- memorisation: 1-NN accuracy < {diagnosis.MEMORISATION_ACCURACY:.0%} or memorised fraction > "
        f"{diagnosis.MEMORISED_FRACTION:.0%}\n"
        f"- mode collapse: accuracy > {diagnosis.SEPARABLE_ACCURACY:.0%}, precision ≥ {diagnosis.LOW_FIDELITY_PRECISION} "
        f"and recall < {diagnosis.COLLAPSE_RECALL}\n"
        f"- low fidelity: accuracy > {diagnosis.SEPARABLE_ACCURACY:.0%} and precision < "
        f"{diagnosis.LOW_FIDELITY_PRECISION}\n"
        "- inconsistent sequences: more cases below the real set's 5th percentile of cross-sequence anatomy "
        "similarity than cases like the real ones give (beta-binomial test, p < 0.01)\n"
        "- mis-oriented: more cases resembling the real anatomy mirrored or rotated than the real set's own rate "
        "allows (p < 0.01)\n"
        f"- distinguishable (warning): accuracy > {diagnosis.SEPARABLE_ACCURACY:.0%}, or permutation p-value of the "
        f"accuracy < {diagnosis.DISTINGUISHABLE_P}, with none of the above\n"
        f"- healthy: none of the above. Backbone **{result['backbone']}**, seed {result['seed']}.")

real, generated = state.embeddings(ws, REAL), state.embeddings(ws, name)
distances = diagnosis.nearest_neighbour_distances(real.features, generated.features, seed=result["seed"])
st.plotly_chart(distance_histograms(distances), key="diag-hist")
st.caption(f"Within-set distances at equal sizes: generated→generated within random groups of "
           f"{min(len(real), len(generated))} cases, as many as the smaller set has (a larger set has closer "
           "neighbours by size alone). Generated→real distances far left of real→real: copies. "
           "Generated→generated far left of real→real: mode collapse. Generated→real far right: low fidelity.")

suspects = scores.get("orientation_suspects") or []
if suspects:
    st.markdown(f"#### Orientation suspects ({len(suspects)})")
    gen_cases = state.case_set(ws, name)
    components.gallery([(f"{name} / {s['generated']} ({s['resembles']})", gen_cases.by_id(s["generated"]))
                        for s in suspects[:4]], columns=4)

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
