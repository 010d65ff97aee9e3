"""The jury's report: one self-contained HTML file of a snapshot (gan_eval.publish).

``render(snapshot)`` returns the HTML bytes; ``workspace_report(ws)`` renders the latest
published snapshot, or the current state marked DRAFT (always with ``draft=True``). The file:

- opens offline: figures are inline SVG (gauges, the embedding map, drawn by
  :mod:`gan_eval.report_svg`) and PNG data URIs (the thumbnails); no script, no font, no URL;
- prints to PDF from a browser: each section starts a new page, each team too, and nothing
  scrolls inside a box of fixed height (the CSS is ``report_template.html``);
- shows the snapshot's numbers exactly as every other front does: each through its registry
  output's ``format`` (label, unit, decimals), whatever metrics the snapshot holds (outputs the
  registry does not know are shown with 3 decimals under their key);
- escapes every string that came from an upload or a reader (team, file, case and reader names).

Sections: the leaderboard (intervals, rank probabilities when present), each team (gauges,
diagnosis, every number, its selected cases with their reader scores), the embedding map, the
reading (qualitative scores, criterion means, readers, agreement, a Turing test when present),
the methods (formulas, backbone, weights fingerprint, seeds, sample sizes, settings) and the
hashes (snapshot digest, every input archive's sha256).
"""

from __future__ import annotations

import base64
import json
from importlib import resources
from string import Template

from . import __version__
from .metrics import registry
from .metrics.registry import MISSING, Output
from .publish import Snapshot
from .report_format import (COPIES_SHOWN, STRUCTURED_KEYS, fixed, key_values, present, html_table, e, fmt,
                            leaderboard_columns, ordered_teams, output_for)
from .reader_scores import CRITERIA, Rating, case_scores
from .report_svg import ACCURACY_BANDS, SCORE_BANDS, embedding_map_svg, gauge_svg

def _header(snapshot: Snapshot) -> str:
    r = snapshot.record
    result = r["result"]
    teams = len(result["submissions"])
    if snapshot.is_draft:
        banner = ('<div class="banner draft" id="status">DRAFT — not the official results. This report shows the '
                  f'workspace as it was on {e(r["published_at"])}; nothing here has been published.'
                  + (" Reading is open: this report names each team's cases, so keep it from the readers."
                     if (r.get("reading") or {}).get("blinded") else "") + "</div>")
    else:
        banner = (f'<div class="banner published" id="status">Official results, published {e(r["published_at"])}. '
                  f'Snapshot <span class="mono">{e(snapshot.digest)}</span></div>')
    toc = "".join(f'<li><a href="#{anchor}">{e(label)}</a></li>' for anchor, label in (
        ("leaderboard", "Leaderboard"), ("teams", "Teams"), ("map", "Embedding map"), ("reading", "Reader study"),
        ("methods", "Methods"), ("hashes", "Hashes")))
    return (f'<header><h1>{"DRAFT — " if snapshot.is_draft else ""}GAN evaluation report</h1>'
            f'<p class="muted">Workspace <b>{e(r["workspace"])}</b> · {teams} submission(s) · '
            f'{e(result["real"]["n"])} real cases · backbone <b>{e(r["backbone"]["id"])}</b> '
            f'(weights <span class="mono">{e(r["backbone"]["weights_fingerprint"])}</span>) · seed {e(r["seed"])}</p>'
            f'{banner}<nav class="toc"><b>Contents</b><ol>{toc}</ol></nav></header>')


def _leaderboard(snapshot: Snapshot) -> str:
    result = snapshot.result
    subs = result["submissions"]
    main, other = leaderboard_columns(result)
    teams = ordered_teams(result)

    def rows(columns: list[Output]):
        for team in teams:
            cells = [("submission", team, "text")] + [(o.key, fmt(o.key, subs[team].get(o.key)), "") for o in columns]
            yield {"data-team": team}, cells

    headers = lambda cols: [("submission", "Submission", "text")] + [(o.key, o.label, "")
                                                                     for o in cols]
    parts = ['<section class="page" id="leaderboard"><h2>Leaderboard</h2>']
    has_final = present(subs, "final_score")
    parts.append("<p>" + ("Ranked by the final score = (quantitative + qualitative / 20) / 2." if has_final else
                          "Ranked by the quantitative score = (diversity + FID score) / 2; the reader study's "
                          "results are not included.") +
                 " Intervals are 95% bootstrap intervals; FID is biased at these sample sizes, so compare "
                 "teams by their intervals, not their digits.</p>")
    parts.append(html_table(headers(main), rows(main), "wide", "leaderboard-table"))
    parts.append(_rank_probabilities(result, teams))
    if other:
        parts.append("<h3>Beyond the challenge</h3>")
        parts.append(html_table(headers(other), rows(other), "wide", "leaderboard-more"))
    failed = result.get("failed") or {}
    if failed:
        parts.append("<h3>Not scored</h3><ul>" + "".join(f"<li><b>{e(n)}</b>: {e(why)}</li>"
                                                          for n, why in sorted(failed.items())) + "</ul>")
    parts.append(_column_help(main + other))
    parts.append("</section>")
    return "".join(parts)


def _column_help(columns: list[Output]) -> str:
    items = "".join(f"<li><b>{e(o.label)}</b>: {e(o.help)}"
                    f"{' (higher is better)' if o.higher_is_better else ' (lower is better)' if o.higher_is_better is False else ''}</li>"
                    for o in columns if o.help)
    return f'<details open><summary>Columns</summary><ul class="muted">{items}</ul></details>' if items else ""


def _rank_probabilities(result: dict, teams: list[str]) -> str:
    """A team x rank table of ``rank_probabilities`` (a list, rank 1 first, or {rank: p}), when present."""
    subs = result["submissions"]
    probs = {t: subs[t].get("rank_probabilities") for t in teams if subs[t].get("rank_probabilities") is not None}
    if not probs:
        return ""
    as_dict = {t: (dict(enumerate(p, start=1)) if isinstance(p, list) else p) for t, p in probs.items()}
    ranks = sorted({str(k) for p in as_dict.values() for k in p}, key=lambda k: (len(k), k))
    out = output_for("rank_probabilities")
    if out.unit != "%":
        out = Output(out.key, out.label, 1, out.help, unit="%")
    headers = [("submission", "Submission", "text")] + [(f"rank_{k}", f"P(rank {k})", "") for k in ranks]
    rows = [({"data-team": t}, [("submission", t, "text")] +
             [(f"rank_{k}", out.format({str(a): b for a, b in p.items()}.get(k)), "") for k in ranks])
            for t, p in as_dict.items()]
    return ("<h3>Rank confidence</h3><p>How often each team takes each rank when the cases are resampled.</p>"
            + html_table(headers, rows, "wide", "rank-probabilities"))


def _gauges(scores: dict) -> str:
    specs = [("loo_accuracy", "1-NN accuracy (ideal 50%)", 0.5, ACCURACY_BANDS),
             ("diversity_score", "Diversity", None, SCORE_BANDS),
             ("fid_score", "FID score", None, SCORE_BANDS),
             ("quantitative_score", "Quantitative", None, SCORE_BANDS),
             ("qualitative_normalised", "Qualitative / 20", None, SCORE_BANDS),
             ("final_score", "Final", None, SCORE_BANDS)]
    svgs = []
    for key, title, ideal, bands in specs:
        value = scores.get(key)
        if value is None and output_for(key).reading:  # not read yet: no gauge
            continue
        text = fmt("qualitative_score", scores.get("qualitative_score")) + " / 20" \
            if key == "qualitative_normalised" else fmt(key, value)
        svgs.append(gauge_svg(value, text, title, ideal=ideal, bands=bands))
    return '<div class="gauges">' + "".join(svgs) + "</div>"


def _diagnosis(scores: dict) -> str:
    from .diagnosis import diagnose

    needed = ("loo_accuracy", "precision", "recall", "memorized_fraction")
    missing = [k for k in needed if scores.get(k) is None]
    if missing:
        return (f'<ul class="findings"><li class="warning">No diagnosis: {e(", ".join(missing))} could not be '
                "computed for this submission.</li></ul>")
    items = "".join(f'<li class="{e(f.severity)}"><b>{e(f.label.capitalize())}</b> — {e(f.because)}</li>'
                    for f in diagnose(scores))
    return f'<ul class="findings">{items}</ul>'


def _all_numbers(scores: dict) -> str:
    known = [o.key for o in registry.outputs()]
    keys = [k for k in known if k in scores] + sorted(k for k in scores if k not in known)
    rows = []
    for key in keys:
        if key in STRUCTURED_KEYS:
            continue
        o = output_for(key)
        rows.append((key, o.label, fmt(key, scores[key])))
    items = "".join(f'<div data-key="{e(k)}"><span class="k">{e(label)}</span> <span class="v">{e(text)}</span></div>'
                    for k, label, text in rows)
    errors = scores.get("metric_errors") or {}
    notes = "".join(f"<li><b>{e(name)}</b> not computed: {e(why)}</li>" for name, why in sorted(errors.items()))
    return f'<div class="numbers">{items}</div>' + (f'<ul class="muted">{notes}</ul>' if notes else "")


def _copies(scores: dict) -> str:
    copies = scores.get("suspected_copies") or []
    if not copies:
        return "<p>No suspected copy of a real case.</p>"
    shown = copies[:COPIES_SHOWN]
    rows = [({}, [("generated", c.get("generated"), "text"), ("real", c.get("real"), "text"),
                  ("distance", fmt("distance", c.get("distance")), ""), ("ratio", fmt("ratio", c.get("ratio")), "")])
            for c in shown]
    more = f"<p class=\"muted\">…and {len(copies) - len(shown)} more (in the snapshot's JSON).</p>" \
        if len(copies) > len(shown) else ""
    return (f"<p>{len(copies)} suspected cop{'y' if len(copies) == 1 else 'ies'} of real cases (closer to a real case "
            "than the memorisation threshold):</p>"
            + html_table([("generated", "Generated case", "text"), ("real", "Nearest real case", "text"),
                      ("distance", "Distance", ""), ("ratio", "Ratio to typical", "")], rows) + more)


def _counted_ratings(reading: dict) -> list[Rating]:
    return [Rating(r["reader"], r["team"], r["case_id"], r["criterion"], r["value"])
            for r in reading.get("ratings") or [] if r.get("counted")]


def _gallery(snapshot: Snapshot, team: str, scores: dict) -> str:
    figures = snapshot.record.get("figures") or {}
    thumbs = (figures.get("thumbnails") or {}).get(team, {})
    reading = snapshot.record.get("reading") or {}
    per_case: dict[str, dict[str, int]] = {}
    for (reader, t, case_id), score in case_scores(_counted_ratings(reading)).items():
        if t == team:
            per_case.setdefault(case_id, {})[reader] = score
    cases = scores.get("selected_cases") or []
    if not cases:
        return "<p>No case selected.</p>"
    items = []
    for i, case_id in enumerate(cases, start=1):
        png = snapshot.asset(thumbs.get(case_id))
        img = (f'<img alt="{e(team)} / {e(case_id)}: T1 arterial, T1 portal-venous, T2" '
               f'src="data:image/png;base64,{base64.b64encode(png).decode()}">' if png else
               '<p class="muted">(no thumbnail)</p>')
        if reading.get("blinded"):
            scored = "Reader scores: blinded while reading is open."
        elif per_case.get(case_id):
            by_reader = per_case[case_id]
            mean = sum(by_reader.values()) / len(by_reader)
            scored = (f"Reader score {fixed(mean, 1)} / 20 (mean of {len(by_reader)}): "
                      + ", ".join(f"{reader} {s}" for reader, s in sorted(by_reader.items())))
        else:
            scored = "Not rated."
        items.append(f'<figure class="case" data-case="{e(case_id)}">{img}<figcaption><b>{i}. {e(case_id)}</b><br>'
                     f'{e(scored)}</figcaption></figure>')
    return '<div class="gallery">' + "".join(items) + "</div>"


def _teams(snapshot: Snapshot) -> str:
    result = snapshot.result
    parts = ['<section class="page" id="teams"><h2>Teams</h2>']
    inputs = snapshot.record["inputs"]["submissions"]
    for team in ordered_teams(result):
        s = result["submissions"][team]
        rank = s.get("rank") if s.get("rank") is not None else s.get("quantitative_rank")
        what = "rank" if s.get("rank") is not None else "quantitative rank"
        entry = inputs.get(team, {})
        parts.append(f'<article class="team" data-team="{e(team)}"><h3>{e(team)} — {what} {e(fmt("rank", rank))}</h3>'
                     f'<p class="muted">{e(s.get("n"))} cases from <span class="mono">{e(entry.get("filename", ""))}'
                     f'</span></p>')
        parts.append(_gauges(s))
        parts.append("<h4>Diagnosis</h4>" + _diagnosis(s))
        if "selected_cases" in s:
            parts.append(f"<h4>The {len(s['selected_cases'])} cases the readers rated (nearest each K-means centre)"
                         "</h4>" + _gallery(snapshot, team, s))
        else:
            parts.append("<h4>The cases the readers rate</h4><p>Withheld until the reading is closed.</p>")
        parts.append("<h4>Memorisation</h4>" + _copies(s))
        parts.append("<h4>Every number</h4>" + _all_numbers(s))
        parts.append("</article>")
    parts.append("</section>")
    return "".join(parts)


def _map(snapshot: Snapshot) -> str:
    figures = snapshot.record.get("figures") or {}
    info = figures.get("map") or {}
    parts = ['<section class="page" id="map"><h2>Embedding map</h2>']
    data = snapshot.asset(info.get("sha256"))
    if data is None:
        parts.append(f'<p class="muted">No map in this snapshot: {e(info.get("error") or "not drawn")}.</p></section>')
        return "".join(parts)
    body = json.loads(data)
    selected = {t: set(s.get("selected_cases") or []) for t, s in snapshot.result["submissions"].items()}
    svg, legend = embedding_map_svg(body["sets"], selected)
    n = sum(len(s["case_ids"]) for s in body["sets"])
    parts.append(f"<p>{e(str(body['method']).upper())} of the {n} embedded cases (the real set and every scored "
                 "submission), seed " + e(body.get("seed")) + ". Diamonds: the cases selected for the readers. "
                 "A map only suggests; the numbers decide.</p>")
    parts.append(f"<figure>{svg}</figure>")
    parts.append('<ul class="legend">' + "".join(f'<li><span class="swatch" style="background:{c}"></span>{e(n)}</li>'
                                                 for n, c in legend) + "</ul></section>")
    return "".join(parts)


def _reading(snapshot: Snapshot) -> str:
    reading = snapshot.record.get("reading") or {}
    result = snapshot.result
    parts = ['<section class="page" id="reading"><h2>Reader study</h2>']
    criteria = reading.get("criteria") or [{"key": c.key, "label": c.label, "question": c.question} for c in CRITERIA]
    parts.append("<p>Blinded reading of each team's cluster-selected cases, pooled and shuffled; each reader rates "
                 "five criteria 0–4 (case score 0–20): " + "; ".join(e(c["question"]) for c in criteria) + "</p>")
    if reading.get("blinded") or not reading.get("closed"):
        progress = reading.get("progress") or {}
        parts.append("<p><b>Reading is open: team results stay blinded until it is closed.</b></p>")
        if progress:
            parts.append(html_table([("reader", "Reader", "text"), ("rated", "Cases rated", "")],
                                [({}, [("reader", r, "text"), ("rated", f"{p[0]} / {p[1]}", "")])
                                 for r, p in sorted(progress.items())]))
        parts.append("</section>")
        return "".join(parts)
    teams = ordered_teams(result)
    means = reading.get("criterion_means") or {}
    qual = {t: result["submissions"][t].get("qualitative_score") for t in teams}
    headers = ([("submission", "Submission", "text"), ("qualitative_score", output_for("qualitative_score").label, "")]
               + [(c["key"], c["label"] + " /4", "") for c in criteria])
    rows = [({"data-team": t}, [("submission", t, "text"), ("qualitative_score", fmt("qualitative_score", qual[t]), "")]
             + [(c["key"], fixed((means.get(t) or {}).get(c["key"]), 2), "") for c in criteria]) for t in teams]
    parts.append("<h3>Qualitative scores</h3><p>A reader's team score is the mean of their case scores for the "
                 "team; the qualitative score is the mean over readers. The criterion means add up to it.</p>")
    parts.append(html_table(headers, rows, "wide", "qualitative-table"))

    per_reader = reading.get("reader_team_scores") or {}
    readers = sorted(per_reader)
    if readers:
        parts.append("<h3>Each reader's team scores (0–20)</h3>")
        parts.append(html_table([("submission", "Submission", "text")] + [(f"reader:{r}", r, "") for r in readers],
                            [({"data-team": t}, [("submission", t, "text")] +
                              [(f"reader:{r}", fixed(per_reader[r].get(t), 2), "") for r in readers]) for t in teams],
                            "wide", "reader-team-scores"))
    agreement = reading.get("agreement") or {}
    parts.append("<h3>Agreement between readers</h3>")
    parts.append(key_values([("ICC(2,1), case scores", fixed(agreement.get("icc"), 3)),
                      ("Kendall's W, case scores", fixed(agreement.get("kendall_w"), 3)),
                      ("Readers", str(agreement.get("n_readers", MISSING))),
                      ("Cases rated by every reader", str(agreement.get("n_cases", MISSING)))]
                     + ([("Note", agreement["reason"])] if agreement.get("reason") else [])))
    info = reading.get("readers") or []
    if info:
        parts.append("<h3>Readers</h3>")
        parts.append(html_table([("reader", "Reader", "text"), ("cases", "Cases rated (counted)", ""),
                             ("first", "First rating", "text"), ("last", "Last rating", "text")],
                            [({}, [("reader", i["reader"], "text"), ("cases", str(i["cases_rated"]), ""),
                                   ("first", i["first_rating"], "text"), ("last", i["last_rating"], "text")])
                             for i in info], "", "readers"))
    ratings = reading.get("ratings") or []
    stale = sum(1 for r in ratings if not r.get("counted"))
    parts.append(f"<p class=\"muted\">{len(ratings)} ratings kept in the snapshot"
                 + (f", {stale} of them of cases no longer selected (kept, not counted)" if stale else "") + ".</p>")
    parts.append(_turing(reading, teams))
    parts.append("</section>")
    return "".join(parts)


def _turing(reading: dict, teams: list[str]) -> str:
    """A Turing test's results when the snapshot holds them: ``reading["turing"]`` = {team: {name: number}}
    (readers told real from generated); nothing otherwise."""
    turing = reading.get("turing")
    if not isinstance(turing, dict) or not turing:
        return ""
    keys = sorted({k for v in turing.values() if isinstance(v, dict) for k in v})
    rows = [({"data-team": t}, [("submission", t, "text")] + [(k, fmt(k, (turing.get(t) or {}).get(k)), "") for k in keys])
            for t in [*teams, *sorted(set(turing) - set(teams))] if t in turing]
    return ("<h3>Turing test</h3>" + html_table([("submission", "Submission", "text")] +
                                            [(k, output_for(k).label, "") for k in keys], rows, "wide", "turing"))


_FORMULAS = """FID          = |mu_r - mu_g|^2 + Tr(S_r + S_g - 2 (S_r S_g)^1/2)      (float64, exact)
FID score    = 1 - FID / FID_max
1-NN acc.    = leave-one-out 1-nearest-neighbour accuracy, generated cases in batches of {batch} joined with
               all real cases, averaged over batches, {reps} repetitions
Diversity    = 1 - 2 |accuracy - 0.5|
Quantitative = (Diversity + FID score) / 2
Case score   = sum of a reader's five ratings of a case (0-4 each, 0-20)
Qualitative  = mean over readers of the reader's mean case score for the team (0-20)
Final        = (Quantitative + Qualitative / 20) / 2"""


def _methods(snapshot: Snapshot) -> str:
    r = snapshot.record
    result = r["result"]
    settings = r.get("settings") or {}
    parts = ['<section class="page" id="methods"><h2>Methods</h2>']
    parts.append("<h3>Scores</h3>")
    parts.append(f'<div class="formula">{e(_FORMULAS.format(batch=settings.get("diversity_batch_size", "?"), reps=settings.get("diversity_repetitions", "?")))}</div>')
    parts.append("<p>Each image is min-max normalised to [0, 1] on its own, resized to 299 × 299 by nearest "
                 "neighbour, the three sequences stacked as channels (T1 arterial, T1 portal-venous, T2), then "
                 "embedded by the backbone. FID_max is the largest FID among the submissions compared (unless "
                 "the organiser fixed it). FID's interval: bootstrap resampling of both sets. Ranks: 1 = best, "
                 "ties share a rank. The cases the readers rate are, for each team, the case nearest each "
                 "K-means centre (K = " + e(settings.get("selection_k", "?")) + ", seeded).</p>")
    parts.append("<h3>Set-up</h3>")
    parts.append(key_values([
        ("Backbone", r["backbone"]["id"]),
        ("Weights fingerprint", r["backbone"]["weights_fingerprint"]),
        ("Preprocessing", r["code"]["preprocessing"]),
        ("gan_eval version", r["code"]["gan_eval"]),
        ("Metrics version", r["code"]["metrics"]),
        ("Seed (bootstrap, batches, KID subsets, K-means, map)", str(r["seed"])),
        ("FID_max", fmt("fid", r["fid_max"])),
    ]))
    parts.append("<h3>Sample sizes</h3>")
    reading = r.get("reading") or {}
    scored_cases = case_scores(_counted_ratings(reading))
    blinded = reading.get("blinded") or not reading.get("closed")

    def read(team: str) -> tuple[str, str]:
        if blinded:
            return "blinded", "blinded"
        mine = [reader for (reader, t, _) in scored_cases if t == team]
        return str(len(set(mine))), str(len(mine))

    n_rows = [({}, [("set", "real", "text"), ("n", str(result["real"]["n"]), ""), ("selected", MISSING, ""),
                    ("readers", MISSING, ""), ("case_scores", MISSING, "")])]
    n_rows += [({"data-team": t}, [("set", t, "text"), ("n", str(result["submissions"][t].get("n")), ""),
                                   ("selected", str(len(result["submissions"][t].get("selected_cases") or [])), ""),
                                   ("readers", read(t)[0], ""), ("case_scores", read(t)[1], "")])
               for t in ordered_teams(result)]
    parts.append(html_table([("set", "Set", "text"), ("n", "Cases scored", ""), ("selected", "Cases read", ""),
                         ("readers", "Readers", ""), ("case_scores", "Case scores counted", "")],
                        n_rows, "", "sample-sizes"))
    if settings:
        parts.append("<h3>Settings</h3>" + key_values([(k, json.dumps(v)) for k, v in sorted(settings.items())]))
    parts.append("</section>")
    return "".join(parts)


def _hashes(snapshot: Snapshot) -> str:
    r = snapshot.record
    parts = ['<section class="page" id="hashes"><h2>Hashes</h2>']
    parts.append(key_values([("Status", "DRAFT (not published)" if snapshot.is_draft else "published"),
                      ("Time", r["published_at"]),
                      ("Snapshot digest (sha256)", snapshot.digest),
                      ("Snapshot format", r["format"])], mono=True))
    parts.append("<p class=\"muted\">The digest is the sha256 of the snapshot's canonical JSON (sorted keys, no "
                 "spaces, UTF-8) without its digest field; a published snapshot is stored as "
                 "<span class=\"mono\">published/&lt;digest&gt;.json</span> in the workspace and checked against it "
                 "whenever it is read.</p>")
    inputs = r["inputs"]
    entries = [("real", inputs["real"])] + sorted(inputs["submissions"].items())
    parts.append("<h3>Input archives</h3>")
    parts.append(html_table([("set", "Set", "text"), ("filename", "File", "text"), ("sha256", "sha256", "text mono"),
                         ("accepted", "Accepted", ""), ("rejected", "Rejected", "")],
                        [({"data-set": name}, [("set", name, "text"), ("filename", en["filename"], "text"),
                                               ("sha256", en["sha256"], "text mono"),
                                               ("accepted", str(en["n_accepted"]), ""),
                                               ("rejected", str(en["n_rejected"]), "")]) for name, en in entries],
                        "wide", "inputs"))
    figures = r.get("figures") or {}
    n_thumbs = sum(len(v) for v in (figures.get("thumbnails") or {}).values())
    map_sha = (figures.get("map") or {}).get("sha256")
    parts.append(key_values([("Thumbnails", f"{n_thumbs} PNG files, named by their sha256 in the snapshot"),
                      ("Map coordinates (sha256)", map_sha or MISSING)], mono=True))
    parts.append("</section>")
    return "".join(parts)


# ------------------------------------------------------------------------------------- public API

def render(snapshot: Snapshot) -> bytes:
    """The report of ``snapshot`` as one self-contained HTML document (UTF-8 bytes)."""
    template = Template(resources.files("gan_eval").joinpath("report_template.html").read_text(encoding="utf-8"))
    body = "".join([_header(snapshot), _leaderboard(snapshot), _teams(snapshot), _map(snapshot), _reading(snapshot),
                    _methods(snapshot), _hashes(snapshot)])
    title = f"{'DRAFT — ' if snapshot.is_draft else ''}GAN evaluation report — {snapshot.record['workspace']}"
    return template.substitute(version=e(__version__), digest=e(snapshot.digest), title=e(title), body=body,
                               status="draft" if snapshot.is_draft else "published",
                               watermark="DRAFT" if snapshot.is_draft else "").encode("utf-8")


def workspace_snapshot(ws, result: dict | None = None, *, draft: bool = False, progress=None) -> Snapshot:
    """What the report of ``ws`` shows: the latest published snapshot (verified), else (or with
    ``draft``) the current state built in memory and marked draft (``result`` is the current
    evaluation; computed when None)."""
    from . import publish
    from .workspace import service

    snapshot = None if draft else publish.latest(ws)
    if snapshot is None:
        if result is None:
            result = service.evaluate(ws, progress=progress)
        snapshot = publish.build(ws, result, status=publish.DRAFT)
    return snapshot


def workspace_report(ws, result: dict | None = None, *, draft: bool = False, progress=None) -> bytes:
    """The HTML report of ``ws`` (see :func:`workspace_snapshot`): the bytes of one file."""
    return render(workspace_snapshot(ws, result, draft=draft, progress=progress))


def report_filename(snapshot: Snapshot) -> str:
    """A file name for the download: ``report-<digest[:12]>.html`` (``-DRAFT`` for a draft)."""
    return f"report-{snapshot.digest[:12]}{'-DRAFT' if snapshot.is_draft else ''}.html"
