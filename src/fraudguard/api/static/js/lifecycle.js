// Model lifecycle view: champion vs challengers side by side, score scatter, drift panel and banner.
// Polls GET /v1/models, /v1/models/compare (PostgreSQL) and /v1/drift (live tracker).

import { api } from "./api.js";
import { PALETTE } from "./charts.js";
import { el, fmtCount, fmtPct, fmtScore } from "./format.js";

function scatterChart(canvasId) {
  const Chart = window.Chart;
  return new Chart(document.getElementById(canvasId), {
    type: "scatter",
    data: { datasets: [] },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      scales: {
        x: { min: 0, max: 1, title: { display: true, text: "champion score" } },
        y: { min: 0, max: 1, title: { display: true, text: "challenger score" } },
      },
    },
  });
}

export class Lifecycle {
  constructor() {
    this.body = document.getElementById("lifecycle-body");
    this.status = document.getElementById("lifecycle-status");
    this.driftBody = document.getElementById("drift-body");
    this.driftStatus = document.getElementById("drift-status");
    this.banner = document.getElementById("drift-banner");
    this.scatter = scatterChart("chart-scatter");
    document.getElementById("lifecycle-refresh").addEventListener("click", () => this.load());
  }

  start(everyMs = 5_000) {
    this.load();
    this.timer = setInterval(() => this.load(), everyMs);
    return this;
  }

  async load() {
    await Promise.all([this.loadModels(), this.loadDrift()]);
  }

  async loadModels() {
    let roles, compare;
    try {
      [roles, compare] = await Promise.all([api("v1/models"), api("v1/models/compare")]);
    } catch (err) {
      this.status.textContent = `unavailable: ${err.detail || err.message}`;
      return;
    }
    const pairs = compare.pairs || [];
    const rows = [];
    if (roles.champion) {
      const first = pairs.find((p) => p.champion === roles.champion);
      rows.push(this.row(roles.champion, "champion", first && {
        pr_auc: first.champion_pr_auc, recall: first.champion_recall, overlap: 1, labelled: first.labelled,
      }));
    }
    for (const version of roles.challengers || []) {
      const p = pairs.find((q) => q.version === version && q.champion === roles.champion);
      rows.push(this.row(version, "challenger", p && {
        pr_auc: p.challenger_pr_auc, recall: p.challenger_recall_at_champion_volume, overlap: p.alert_overlap,
        labelled: p.labelled,
      }));
    }
    if (!rows.length) rows.push(el("tr", {}, el("td", { colSpan: 6, className: "muted" }, "no model registered")));
    this.body.replaceChildren(...rows);
    this.scatter.data.datasets = pairs
      .filter((p) => p.champion === roles.champion)
      .map((p, i) => ({
        label: p.version,
        data: p.scatter.map(([x, y]) => ({ x, y })),
        backgroundColor: p.scatter.map(([, , t]) => (t === 1 ? "#d9480f" : PALETTE[i % PALETTE.length])),
        pointRadius: 2,
      }));
    this.scatter.update("none");
    const shadow = (roles.challengers || []).length;
    this.status.textContent = `${shadow} challenger${shadow === 1 ? "" : "s"} in shadow`;
  }

  row(version, role, m) {
    return el(
      "tr",
      { dataset: { version, role } },
      el("td", {}, version),
      el("td", {}, el("span", { className: "pill", dataset: { state: role === "champion" ? "running" : "" } }, role)),
      el("td", { className: "num", dataset: { cell: "pr_auc" } }, fmtScore(m?.pr_auc)),
      el("td", { className: "num", dataset: { cell: "recall" } }, fmtPct(m?.recall)),
      el("td", { className: "num", dataset: { cell: "overlap" } }, fmtPct(m?.overlap)),
      el("td", { className: "num" }, fmtCount(m?.labelled)),
    );
  }

  async loadDrift() {
    let drift;
    try {
      drift = await api("v1/drift");
    } catch (err) {
      this.driftStatus.textContent = `unavailable: ${err.detail || err.message}`;
      return;
    }
    const windows = drift.windows || {};
    const byName = new Map();
    for (const [w, view] of Object.entries(windows)) {
      for (const r of view.psi || []) {
        const entry = byName.get(r.name) || { name: r.name, kind: r.kind };
        entry[w] = r.psi;
        byName.set(r.name, entry);
      }
    }
    const top = [...byName.values()]
      .sort((a, b) => (b.last_1h ?? b.last_1d ?? 0) - (a.last_1h ?? a.last_1d ?? 0))
      .slice(0, 10);
    const rows = top.map((r) =>
      el(
        "tr",
        { dataset: { name: r.name } },
        el("td", {}, r.name),
        el("td", {}, r.kind),
        el("td", { className: "num" }, fmtScore(r.last_1h)),
        el("td", { className: "num" }, fmtScore(r.last_1d)),
      ),
    );
    if (!rows.length) rows.push(el("tr", {}, el("td", { colSpan: 4, className: "muted" }, "no drift counts yet")));
    this.driftBody.replaceChildren(...rows);
    const n = windows.last_1h?.transactions;
    const warming = drift.warming_up ? ` (warming up: no alert before ${new Date((drift.warm_from + 3600) * 1000).toISOString().slice(0, 16)} event time)` : "";
    this.driftStatus.textContent = n === undefined ? "waiting for the stream" : `${fmtCount(n)} tx in the last hour${warming}`;
    this.banner.hidden = !drift.alert;
    if (drift.alert) this.banner.textContent = `Drift alert: ${(drift.reasons || []).slice(0, 3).join("; ")}`;
  }
}
