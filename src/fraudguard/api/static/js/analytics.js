// Aggregates from PostgreSQL: fraud by merchant category, hour of day and amount bucket,
// and the model comparison table. Refreshed on a timer and on demand.

import { api } from "./api.js";
import { Bars } from "./charts.js";
import { el, fmtCount, fmtScore } from "./format.js";

function series(groups) {
  return [
    { label: "alerts", data: groups.map((g) => g.alerts) },
    { label: "frauds", data: groups.map((g) => g.frauds) },
    { label: "fraud rate", data: groups.map((g) => g.fraud_rate), type: "line", yAxisID: "y1" },
  ];
}

export class Analytics {
  constructor() {
    this.category = new Bars("chart-category", { percentAxis: "fraud rate" });
    this.hour = new Bars("chart-hour", { percentAxis: "fraud rate" });
    this.amount = new Bars("chart-amount", { percentAxis: "fraud rate" });
    this.body = document.getElementById("compare-body");
    this.updated = document.getElementById("analytics-updated");
    document.getElementById("analytics-refresh").addEventListener("click", () => this.load());
  }

  start(everyMs = 15_000) {
    this.load();
    this.timer = setInterval(() => this.load(), everyMs);
    return this;
  }

  async load() {
    let data;
    try {
      data = await api("v1/analytics");
    } catch (err) {
      this.updated.textContent = `unavailable: ${err.detail || err.message}`;
      return;
    }
    const cat = data.by_category || [];
    this.category.set(cat.map((g) => g.key), series(cat));
    const hour = data.by_hour || [];
    this.hour.set(hour.map((g) => g.key), series(hour));
    const amount = data.by_amount || [];
    this.amount.set(amount.map((g) => g.key), series(amount));
    this.drawComparison(data.models || []);
    this.updated.textContent = `updated ${new Date().toLocaleTimeString(undefined, { hour12: false })}`;
  }

  drawComparison(models) {
    const rows = models.map((m) =>
      el(
        "tr",
        { dataset: { model: m.model, version: m.model_version } },
        el("td", {}, m.model_version),
        el("td", {}, m.model.replace(/_/g, " ")),
        ...[m.labelled].map((v) => el("td", { className: "num" }, fmtCount(v))),
        ...[m.precision, m.recall, m.f1].map((v) => el("td", { className: "num" }, fmtScore(v))),
        ...["tp", "fp", "tn", "fn"].map((k) => el("td", { className: "num", dataset: { cell: k } }, fmtCount(m[k]))),
      ),
    );
    if (!rows.length) rows.push(el("tr", {}, el("td", { colSpan: 10, className: "muted" }, "no labelled predictions yet")));
    this.body.replaceChildren(...rows);
  }
}

