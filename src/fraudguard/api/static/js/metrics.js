// Live metrics from /ws/metrics: per-model quality (rolling and cumulative windows),
// confusion matrices, throughput, latency percentiles and consumer lag.
//
// A snapshot looks like {at, windows: {cumulative: {models: {xgboost: {tp, fp, tn, fn,
// precision, recall, f1, pr_auc}, ...}}, last_1000: {...}, last_5m: {...}},
// throughput_tps, latency_s: {p50, p95, p99, max}, lag: {predictions: n, ...}}.

import { TimeSeries } from "./charts.js";
import { el, fmtCount, fmtScore } from "./format.js";
import { keepOpen, showState } from "./ws.js";

const MAX_SNAPSHOTS = 120;

function clock(at) {
  const d = at ? new Date(typeof at === "number" ? at * 1000 : at) : new Date();
  return d.toLocaleTimeString(undefined, { hour12: false });
}

function sumLag(lag) {
  if (lag === null || lag === undefined) return null;
  if (typeof lag === "number") return lag;
  return Object.values(lag).reduce((a, b) => a + (Number(b) || 0), 0);
}

export class Metrics {
  constructor({ onSnapshot = () => {} } = {}) {
    this.snapshots = [];
    this.window = "rolling";
    this.metric = "f1";
    this.onSnapshot = onSnapshot;
    this.quality = new TimeSeries("chart-quality", { yMax: 1 });
    this.throughput = new TimeSeries("chart-throughput");
    this.latency = new TimeSeries("chart-latency");
    this.lag = new TimeSeries("chart-lag");
    this.confusions = document.getElementById("confusions");
    for (const b of document.querySelectorAll("[data-window]")) {
      b.addEventListener("click", () => {
        this.window = b.dataset.window;
        for (const o of document.querySelectorAll("[data-window]")) o.setAttribute("aria-pressed", String(o === b));
        this.redrawQuality();
      });
    }
    document.getElementById("metric-select").addEventListener("change", (e) => {
      this.metric = e.target.value;
      this.redrawQuality();
    });
  }

  start() {
    this.socket = keepOpen("ws/metrics", (s) => this.push(s), showState(document.getElementById("metrics-conn")));
    return this;
  }

  /** The window key shown for "rolling" (the first non-cumulative one) or "cumulative". */
  windowKey(snapshot) {
    const keys = Object.keys(snapshot.windows || {});
    if (this.window === "cumulative") return keys.includes("cumulative") ? "cumulative" : keys[0];
    return keys.find((k) => k !== "cumulative") || keys[0];
  }

  qualityPoint(s) {
    const w = (s.windows || {})[this.windowKey(s)] || {};
    const values = {};
    for (const [model, m] of Object.entries(w.models || {})) values[model] = m[this.metric];
    return [clock(s.at), values];
  }

  push(s) {
    if (!s || typeof s !== "object" || !s.windows) return;
    this.snapshots.push(s);
    if (this.snapshots.length > MAX_SNAPSHOTS) this.snapshots.shift();
    const [label, values] = this.qualityPoint(s);
    this.quality.add(label, values);
    this.throughput.add(label, { "tx/s": s.throughput_tps });
    const lat = s.latency_s || {};
    const ms = (v) => (v === null || v === undefined ? null : v * 1000);
    this.latency.add(label, { p50: ms(lat.p50), p95: ms(lat.p95), p99: ms(lat.p99) });
    const lag = s.lag && typeof s.lag === "object" ? s.lag : { lag: s.lag };
    this.lag.add(label, lag);
    this.drawConfusions(s);
    this.onSnapshot({
      tps: s.throughput_tps,
      p95ms: ms(lat.p95),
      lag: sumLag(s.lag),
    });
  }

  /** A snapshot from another source (/v1/stats): refresh the matrices if it is newer. */
  seed(s) {
    if (!s || !s.windows) return;
    const last = this.snapshots[this.snapshots.length - 1];
    if (last && (s.at || 0) <= (last.at || 0)) return;
    this.drawConfusions(s);
    if (!last) this.onSnapshot({ tps: s.throughput_tps, p95ms: s.latency_s?.p95 == null ? null : s.latency_s.p95 * 1000, lag: sumLag(s.lag) });
  }

  redrawQuality() {
    this.quality.reset(this.snapshots.map((s) => this.qualityPoint(s)));
    const last = this.snapshots[this.snapshots.length - 1];
    if (last) this.drawConfusions(last);
  }

  drawConfusions(s) {
    const key = this.windowKey(s);
    const w = (s.windows || {})[key] || {};
    document.getElementById("confusion-source").textContent =
      `(${key.replace(/_/g, " ")}: ${fmtCount(w.transactions)} predictions, ${fmtCount(w.labelled)} labelled)`;
    const cards = Object.entries(w.models || {}).map(([model, m]) => this.confusion(model, m));
    this.confusions.replaceChildren(...cards);
  }

  confusion(model, m) {
    const cell = (v, cls, name) => el("td", { className: cls, dataset: { cell: name } }, fmtCount(v));
    const table = el(
      "table",
      { className: "confusion-table" },
      el("caption", {}, model.replace(/_/g, " ")),
      el("thead", {}, el("tr", {}, el("th", {}, ""), el("th", { scope: "col" }, "pred fraud"), el("th", { scope: "col" }, "pred legit"))),
      el(
        "tbody",
        {},
        el("tr", {}, el("th", { scope: "row" }, "fraud"), cell(m.tp, "hit", "tp"), cell(m.fn, "miss", "fn")),
        el("tr", {}, el("th", { scope: "row" }, "legit"), cell(m.fp, "miss", "fp"), cell(m.tn, "hit", "tn")),
      ),
    );
    return el(
      "div",
      { className: "confusion", dataset: { model } },
      table,
      el("div", { className: "scores" }, `P ${fmtScore(m.precision)} · R ${fmtScore(m.recall)} · F1 ${fmtScore(m.f1)}` +
        (m.pr_auc !== undefined ? ` · PR-AUC ${fmtScore(m.pr_auc)}` : "")),
    );
  }
}

