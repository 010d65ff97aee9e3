"""Baseline GAN: train a data-efficient GAN on the real cases, watch it learn, score its output."""


import pandas as pd
import streamlit as st

from gan_eval.figures import loss_curves, metric_curves
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
        steps = cols[1].number_input("Steps", 10, 200_000, defaults.steps, 10)
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
        metrics_every = cols[2].number_input(
            "Metrics every N steps", 0, 100_000, defaults.metrics_every,
            help=f"Score {defaults.metrics_samples} cases of the EMA generator against the real set, as the jury "
                 f"would ({ws.backbone}), and keep that generator for export; 0 turns it off")
        lesion_std = cols[3].number_input(
            "Lesion-spread weight", 0.0, 30.0, defaults.lesion_std, format="%.1f", key="gan-lesion-std",
            help="The discriminator also sees how much a batch's lesion masks differ, before augmentation, times "
                 "this; 0 turns it off, and DiffAugment then hides lesions that all sit in one place")
        if st.form_submit_button("Start training", type="primary"):
            config = service.training_config(
                ws, resolution=resolution, steps=int(steps), batch_size=int(batch_size), seed=int(seed), lr_g=lr_g,
                lr_d=lr_d, width=int(width), augment=augment, mode_seeking=mode_seeking, lesion_std=lesion_std,
                sample_every=int(sample_every), metrics_every=int(metrics_every))
            try:
                st.session_state["gan-run"] = service.start_training(ws, config, actor=auth.actor(ws))
                st.rerun()
            except runs.RunLimitError as exc:
                st.warning(str(exc))

all_runs = runs.list_runs(ws.gan_runs_dir)
if not all_runs:
    st.info("No training run yet: start one above. At 64x64 a CPU run makes a few steps per second. "
            f"Runs of your own training loop logged with gan_eval.Tracker into {ws.gan_runs_dir} appear here too.")
    st.stop()

names = [r["name"] for r in all_runs]
name = st.selectbox("Run", names, index=names.index(st.session_state.get("gan-run", names[0]))
                    if st.session_state.get("gan-run") in names else 0, key="gan-run-choice")
run_dir = ws.gan_runs_dir / name
compared = st.multiselect("Compare live metrics with", [n for n in names if n != name], key="gan-compare",
                          help="Other runs of this workspace, the baseline's or your own loop's (gan_eval.Tracker)")
rendered = runs.read_status(run_dir)


@st.fragment(run_every=2.0)
def live_view(rendered_state: str) -> None:
    status = runs.read_status(run_dir)
    if runs.page_is_stale(rendered_state, status["state"]):
        st.rerun(scope="app")  # started or ended: the export below changes too, not only this part
    st.dataframe(pd.DataFrame([{"run": r["name"], "state": r["status"]["state"], "step": r["status"]["step"],
                                "of": r["status"]["total"], **{label: r["config"].get(key) for key, label in (
                                    ("resolution", "resolution"), ("batch_size", "batch"), ("width", "width"),
                                    ("augment", "augment"), ("mode_seeking", "mode seeking"), ("lesion_std", "lesion spread"),
                                    ("metrics_every", "metrics every"), ("seed", "seed"))}}
                              for r in runs.list_runs(ws.gan_runs_dir)]), hide_index=True)
    log = runs.read_log(run_dir)
    active = status["state"] in runs.ACTIVE_STATES
    if status["total"] is not None:
        st.progress(min(status["step"] / max(status["total"], 1), 1.0), text=runs.describe_status(status, log))
    else:
        st.caption(f"{runs.describe_status(status, log)}: a run of your own training loop (gan_eval.Tracker)")
    if status["state"] == "failed":
        st.error(f"Training failed: {status['error']}")
    buttons = st.columns(3)
    if active and buttons[0].button("Stop", key="gan-stop"):
        runs.request_stop(run_dir)
    if status["state"] in ("stopped", "failed") and buttons[0].button("Resume", key="gan-resume"):
        runs.resume_run(run_dir)
        st.rerun(scope="fragment")
    histories = {run: runs.read_metrics(ws.gan_runs_dir / run) for run in [name, *compared]}
    histories = {run: lines for run, lines in histories.items() if lines}
    if histories:
        st.plotly_chart(metric_curves(histories), key="gan-metrics")
    left_col, right_col = st.columns([3, 2])
    if log:
        left_col.plotly_chart(loss_curves(log), key="gan-losses")
    sample = runs.latest_sample(run_dir)
    if sample is not None:
        # The grid labels its own columns (sequences, and the mask when the real set has masks).
        right_col.image(str(sample), caption=f"{sample.stem.replace('_', ' ')} · EMA generator, fixed latents")


live_view(rendered["state"])

st.markdown("#### Score the baseline like any team")
if rendered["state"] == runs.TRACKED:
    st.caption("A run of your own training loop: generate its cases with your code and add them on the Workspace page.")
elif rendered["state"] in runs.ACTIVE_STATES:
    st.caption("Stop the run (or let it finish) to generate cases from its last checkpoint.")
else:
    choices = service.export_choices(run_dir)
    label = st.selectbox("Generate from", [text for text, _ in choices], key="gan-export-step")
    step = dict(choices)[label]
    if st.button(f"Generate {GENERATED_CASES} cases and add as submission '{BASELINE}'", type="primary",
                 key="gan-generate"):
        with st.spinner(f"Generating {GENERATED_CASES} cases, validating and adding them to the workspace…"):
            entry, report = service.add_gan_submission(ws, run_dir, step=step, actor=auth.actor(ws))
            state.start_evaluation(ws)
        st.success(f"Added '{BASELINE}' with {entry.n_accepted} cases; embedding and scoring run in the background. "
                   "It appears on the Leaderboard and the Embedding map when done.")
