"""Baseline GAN: train a data-efficient GAN on the real cases, watch it learn, score its output."""


import pandas as pd
import streamlit as st

from gan_eval.figures import loss_curves
from gan_eval.gan import runs
from gan_eval.gan.config import TrainConfig
from gan_eval.workspace import service
from gan_eval.workspace.service import BASELINE, GENERATED_CASES
from ui import auth, state

st.subheader("Baseline GAN")
ws = state.workspace()
if ws.real is None:
    st.info("Add a real set on the Workspace page first: the baseline GAN trains on it.")
    st.stop()

cuda = state.cuda_available()
defaults = TrainConfig()
with st.expander("Start a new training run", expanded=not runs.list_runs(ws.gan_runs_dir)):
    with st.form("train"):
        cols = st.columns(4)
        resolution = cols[0].selectbox("Resolution", [64, 128] + ([256] if cuda else []))
        steps = cols[1].number_input("Steps", 10, 200_000, 3000, 10)
        batch_size = cols[2].number_input("Batch size", 2, 128, defaults.batch_size)
        seed = cols[3].number_input("Seed", 0, 2**31 - 1, defaults.seed)
        cols = st.columns(4)
        lr_g = cols[0].number_input("Generator learning rate", 1e-5, 1e-2, defaults.lr_g, format="%.5f")
        lr_d = cols[1].number_input("Discriminator learning rate", 1e-5, 1e-2, defaults.lr_d, format="%.5f")
        width = cols[2].number_input("Network width", 4, 64, defaults.width, help="Channels at 64x64; compute grows "
                                     "with its square. 8 trains about 2x faster than 16 on a CPU.")
        sample_every = cols[3].number_input("Sample grid every N steps", 10, 10_000, 100)
        cols = st.columns(4)
        augment = cols[0].toggle("DiffAugment", value=defaults.augment, help="Translation and cutout, applied "
                                 "identically to the three sequences, on real and generated inputs of the discriminator")
        mode_seeking = cols[1].number_input("Mode-seeking weight", 0.0, 1.0, defaults.mode_seeking, format="%.3f",
                                            help="Pushes distinct latents to distinct cases; 0 turns it off, "
                                            "and on ~91 cases the generator then collapses onto one case")
        if st.form_submit_button("Start training", type="primary"):
            config = TrainConfig(resolution=resolution, steps=int(steps), batch_size=int(batch_size), seed=int(seed),
                                 lr_g=lr_g, lr_d=lr_d, width=int(width), augment=augment, mode_seeking=mode_seeking,
                                 sample_every=int(sample_every))
            try:
                st.session_state["gan-run"] = service.start_training(ws, config, actor=auth.actor(ws))
                st.rerun()
            except runs.RunLimitError as exc:
                st.warning(str(exc))

all_runs = runs.list_runs(ws.gan_runs_dir)
if not all_runs:
    st.info("No training run yet: start one above. At 64x64 a CPU run makes a few steps per second.")
    st.stop()

st.dataframe(pd.DataFrame([{"run": r["name"], "state": r["status"]["state"], "step": r["status"]["step"],
                            "of": r["status"]["total"], "resolution": r["config"]["resolution"],
                            "batch": r["config"]["batch_size"], "width": r["config"]["width"],
                            "augment": r["config"]["augment"], "mode seeking": r["config"]["mode_seeking"],
                            "seed": r["config"]["seed"]} for r in all_runs]), hide_index=True)
names = [r["name"] for r in all_runs]
name = st.selectbox("Run", names, index=names.index(st.session_state.get("gan-run", names[0]))
                    if st.session_state.get("gan-run") in names else 0, key="gan-run-choice")
run_dir = ws.gan_runs_dir / name


@st.fragment(run_every=2.0)
def live_view() -> None:
    status = runs.read_status(run_dir)
    log = runs.read_log(run_dir)
    active = status["state"] in runs.ACTIVE_STATES
    st.progress(min(status["step"] / max(status["total"], 1), 1.0), text=runs.describe_status(status, log))
    if status["state"] == "failed":
        st.error(f"Training failed: {status['error']}")
    buttons = st.columns(3)
    if active and buttons[0].button("Stop", key="gan-stop"):
        runs.request_stop(run_dir)
    if not active and status["state"] != "finished" and buttons[0].button("Resume", key="gan-resume"):
        runs.resume_run(run_dir)
        st.rerun(scope="fragment")
    left_col, right_col = st.columns([3, 2])
    if log:
        left_col.plotly_chart(loss_curves(log), key="gan-losses")
    sample = runs.latest_sample(run_dir)
    if sample is not None:
        # The grid labels its own columns (sequences, and the mask when the real set has masks).
        right_col.image(str(sample), caption=f"{sample.stem.replace('_', ' ')} · EMA generator, fixed latents")


live_view()

st.markdown("#### Score the baseline like any team")
status = runs.read_status(run_dir)
if status["state"] in runs.ACTIVE_STATES:
    st.caption("Stop the run (or let it finish) to generate cases from its last checkpoint.")
elif st.button(f"Generate {GENERATED_CASES} cases and add as submission '{BASELINE}'", type="primary",
               key="gan-generate"):
    with st.spinner(f"Generating {GENERATED_CASES} cases, validating and adding them to the workspace…"):
        entry, report = service.add_gan_submission(ws, run_dir, actor=auth.actor(ws))
        state.start_evaluation(ws)
    st.success(f"Added '{BASELINE}' with {entry.n_accepted} cases; embedding and scoring run in the background. "
               "It appears on the Leaderboard and the Embedding map when done.")
