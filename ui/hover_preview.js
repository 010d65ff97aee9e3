// Tells the app which case of the embedding map is under the pointer, so that its side panel can
// preview it (ui.components.hovered_point, called inside a fragment: only the panel reruns).
//
// Streamlit's plotly chart reports clicks and selections, not hovering. This script listens to
// plotly's hover events on the graphs inside the element named by data.chart_class, waits until
// the pointer rests on one point for data.delay_ms (a sweep across the map sends nothing), and
// sends that point's [set, case id] (the first two fields of its customdata) once.

const STATE = (window.__ganEvalHoverPreview = window.__ganEvalHoverPreview || { send: null, observer: null });

function attach(gd) {
  if (gd.__ganEvalHover || !gd._fullLayout || typeof gd.on !== "function") return;
  gd.__ganEvalHover = true;
  let timer = null;
  gd.on("plotly_hover", (event) => {
    const point = event && event.points && event.points[0];
    const data = point && point.customdata;
    clearTimeout(timer);
    if (!data || data.length < 2) return;
    const key = `${data[0]}\u0000${data[1]}`;
    timer = setTimeout(() => {
      if (STATE.send && key !== STATE.last) {
        STATE.last = key;
        STATE.send([String(data[0]), String(data[1])]);
      }
    }, STATE.delay);
  });
  gd.on("plotly_unhover", () => clearTimeout(timer));
}

function scan() {
  if (STATE.chartClass) document.querySelectorAll(`.${STATE.chartClass} .js-plotly-plot`).forEach(attach);
}

export default function ({ data, setTriggerValue }) {
  STATE.send = (value) => setTriggerValue("hovered", value);
  STATE.chartClass = data.chart_class;
  STATE.delay = data.delay_ms;
  STATE.last = data.shown;
  if (!STATE.observer) {
    STATE.observer = new MutationObserver(scan);
    STATE.observer.observe(document.body, { childList: true, subtree: true });
  }
  scan();
}
