// Headline numbers (/v1/stats), component health (/readyz) and the model version.

import { api } from "./api.js";
import { fmtCount, fmtMs, fmtPct } from "./format.js";

const COMPONENTS = ["broker", "database", "model"]; // from /readyz; "engine" from the live metrics

function set(id, text) {
  document.getElementById(id).textContent = text;
}

/** ok | degraded | down | unknown for one component entry of the readiness answer. */
function statusOf(entry) {
  if (entry === undefined || entry === null) return "unknown";
  if (typeof entry === "boolean") return entry ? "ok" : "down";
  if (typeof entry === "string") return ["ok", "up", "ready", "healthy", "running"].includes(entry) ? "ok" : entry;
  if (typeof entry === "object") {
    if ("ok" in entry) return entry.ok ? "ok" : "down";
    if ("status" in entry) return statusOf(entry.status);
  }
  return "unknown";
}

export class Overview {
  /** onLive(snapshot): the live metrics snapshot /v1/stats also returns. */
  constructor({ onLive = null } = {}) {
    this.onLive = onLive;
  }

  start(everyMs = 5000) {
    this.refresh();
    this.timer = setInterval(() => this.refresh(), everyMs);
    return this;
  }

  async refresh() {
    await Promise.all([this.stats(), this.health()]);
  }

  async stats() {
    try {
      const body = await api("v1/stats");
      const s = body.database || (body.total !== undefined ? body : {});
      if (body.live && this.onLive) this.onLive(body.live);
      set("kpi-total", fmtCount(s.total));
      set("kpi-alerts", fmtCount(s.alerts));
      set("kpi-alert-rate", fmtPct(s.alert_rate, 2));
      set("kpi-labelled", fmtCount(s.labelled));
    } catch {
      /* the KPIs keep their last values; the health pills say what is down */
    }
  }

  async health() {
    let body = null;
    try {
      body = await api("readyz");
    } catch (err) {
      body = err.detail && typeof err.detail === "object" ? err.detail : null;
    }
    const checks = (body && (body.checks || body.components)) || body || {};
    const model = checks.model;
    if (model && model.ok && model.detail && !this.liveVersion) set("model-version", `model ${model.detail}`);
    for (const name of COMPONENTS) {
      const li = document.querySelector(`#health [data-component="${name}"]`);
      const entry = checks[name];
      const status = statusOf(entry);
      li.dataset.status = status;
      li.querySelector(".state").textContent = status;
      li.title = entry && typeof entry === "object" && entry.detail ? String(entry.detail) : status;
    }
  }

  /** Throughput / latency / lag from the metrics stream. */
  live({ tps, p95ms, lag }) {
    // The API cannot see the engine process; predictions arriving are the evidence it runs.
    const li = document.querySelector('#health [data-component="engine"]');
    const flowing = Number(tps) > 0;
    li.dataset.status = flowing ? "ok" : "degraded";
    li.querySelector(".state").textContent = flowing ? "ok" : "idle";
    li.title = flowing ? `predictions arriving: ${Number(tps).toFixed(1)}/s` : "no predictions in the last 10 s";
    set("kpi-tps", tps === null || tps === undefined ? "—" : `${Number(tps).toFixed(1)}/s`);
    set("kpi-p95", fmtMs(p95ms));
    set("kpi-lag", fmtCount(lag));
  }

  /** The model version of the newest prediction. */
  version(v) {
    if (!v || v === this.liveVersion) return;
    this.liveVersion = v;
    set("model-version", `model ${v}`);
  }
}
