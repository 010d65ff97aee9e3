// Keeps the case viewer's zoom and pan across cases, and links viewers that show cases side by side.
//
// Streamlit gives a chart a new identity whenever its figure changes, so the next case arrives as a
// new plotly graph at full view, and plotly reports wheel zoom and pan to nobody on the Python
// side. This script runs in the page (mounted once per run by ui.components.linked_zoom): every
// graph whose layout.meta names a zoom group reports its zoom (box, wheel or pan) here; the zoom
// is kept per group as fractions of the image's width and height, so that a 64 x 64 case and a
// 256 x 256 one zoom to the same part of the anatomy; a graph that appears (the next case) or
// another graph of the group (the nearest real case) is set to it. A double-click (plotly's
// autorange) forgets it. The state lives in this browser tab only, like plotly's own.

const STATE = (window.__ganEvalLinkedZoom = window.__ganEvalLinkedZoom || { zoom: {}, observer: null });

function groupOf(gd) {
  const meta = gd.layout && gd.layout.meta;
  return meta && meta.zoom_group ? meta : null;
}

function rangesOf(gd) {
  const full = gd._fullLayout;
  return full && full.xaxis && full.yaxis ? { x: full.xaxis.range.slice(), y: full.yaxis.range.slice() } : null;
}

function toFractions(meta, r) {
  return { x: r.x.map((v) => (v + 0.5) / meta.width), y: r.y.map((v) => (v + 0.5) / meta.height) };
}

function fromFractions(meta, f) {
  return { x: f.x.map((v) => v * meta.width - 0.5), y: f.y.map((v) => v * meta.height - 0.5) };
}

function axes(gd, letter) {
  return Object.keys(gd._fullLayout || {}).filter((k) => new RegExp(`^${letter}axis\\d*$`).test(k));
}

function drawnAt(gd, r) {
  const near = (a, b) => a && Math.abs(a[0] - b[0]) < 1e-6 && Math.abs(a[1] - b[1]) < 1e-6;
  return axes(gd, "x").every((k) => near(gd._fullLayout[k].range, r.x))
    && axes(gd, "y").every((k) => near(gd._fullLayout[k].range, r.y));
}

function apply(gd, meta, retries = 3) {
  const f = STATE.zoom[meta.zoom_group];
  const plotly = window.Plotly;
  if (!plotly) return;
  if (!f) {
    if (gd.__ganEvalZoomed) plotly.relayout(gd, { "xaxis.autorange": true, "yaxis.autorange": "reversed" });
    gd.__ganEvalZoomed = false;
    return;
  }
  const r = fromFractions(meta, f);
  if (drawnAt(gd, r)) return;
  // Every panel's axes, not only the first's: a graph still settling its matched axes after
  // its first draw may otherwise keep its own ranges in the other two panels.
  const update = {};
  axes(gd, "x").forEach((k) => (update[`${k}.range`] = r.x));
  axes(gd, "y").forEach((k) => (update[`${k}.range`] = r.y));
  gd.__ganEvalZoomed = true;
  plotly.relayout(gd, update);
  if (retries > 0) setTimeout(() => gd.isConnected && apply(gd, meta, retries - 1), 300);
}

function graphsOf(group) {
  return [...document.querySelectorAll(".js-plotly-plot")].filter((gd) => {
    const meta = groupOf(gd);
    return meta && meta.zoom_group === group;
  });
}

function attach(gd) {
  const meta = groupOf(gd);
  if (!meta || !gd._fullLayout || gd.__ganEvalLinkedZoom || typeof gd.on !== "function") return;
  gd.__ganEvalLinkedZoom = true;
  gd.on("plotly_relayout", (event) => {
    const keys = Object.keys(event || {});
    if (keys.some((k) => /^[xy]axis\d*\.autorange$/.test(k))) {
      delete STATE.zoom[meta.zoom_group];
    } else if (keys.some((k) => /^[xy]axis\d*\.range/.test(k))) {
      const r = rangesOf(gd);
      if (!r) return;
      STATE.zoom[meta.zoom_group] = toFractions(meta, r);
      gd.__ganEvalZoomed = true;
    } else {
      return;
    }
    for (const other of graphsOf(meta.zoom_group)) {
      if (other !== gd && other._fullLayout) apply(other, groupOf(other));
    }
  });
  apply(gd, meta);
}

function scan() {
  document.querySelectorAll(".js-plotly-plot").forEach(attach);
}

export default function () {
  if (!STATE.observer) {
    // A graph is drawn a moment after its element appears: "plotly_afterplot" is not ours to
    // hear before attach, so every change to the page re-scans (cheap: a class query).
    STATE.observer = new MutationObserver(scan);
    STATE.observer.observe(document.body, { childList: true, subtree: true });
  }
  scan();
}
