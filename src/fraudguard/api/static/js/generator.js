// Generator controls: start / stop, transactions per second, fraud rate and drift.
// Every change needs the API key (sent as X-API-Key by api.js); the API validates the drift.

import { api, ApiError } from "./api.js";
import { fmtCount, fmtPct } from "./format.js";

export class GeneratorPanel {
  constructor() {
    this.form = document.getElementById("gen-form");
    this.tps = document.getElementById("gen-tps");
    this.fraud = document.getElementById("gen-fraud");
    this.drift = document.getElementById("gen-drift");
    this.driftDays = document.getElementById("gen-drift-days");
    this.state = document.getElementById("gen-state");
    this.detail = document.getElementById("gen-detail");
    this.error = document.getElementById("gen-error");
    this.refusal = ""; // why the last change was refused: shown until the next one is sent
    this.shown = 0; // how many times the generator's state was shown (data-shown, for tests)
    this.dirty = false; // the user is editing: do not overwrite the inputs on refresh
    for (const input of [this.tps, this.fraud, this.drift, this.driftDays]) {
      input.addEventListener("input", () => { this.dirty = true; });
    }
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      if (!this.form.reportValidity()) return;
      this.send({
        tps: Number(this.tps.value),
        fraud_rate: Number(this.fraud.value),
        drift: parseDrift(this.drift.value),
        drift_days: Number(this.driftDays.value),
      });
    });
    document.getElementById("gen-start").addEventListener("click", () => this.send({ running: true }));
    document.getElementById("gen-stop").addEventListener("click", () => this.send({ running: false }));
  }

  start(everyMs = 5000) {
    this.refresh();
    this.timer = setInterval(() => this.refresh(), everyMs);
    return this;
  }

  async refresh() {
    // A refresh that was in flight while a change was sent answers with the old settings:
    // drop it, or it would put them back into the inputs and the next Apply would send them.
    const seq = (this.seq = (this.seq || 0) + 1);
    try {
      const g = await api("v1/generator");
      if (seq === this.seq) this.show(g);
    } catch (err) {
      if (seq !== this.seq) return;
      this.state.textContent = "unavailable";
      this.state.dataset.state = "";
      this.detail.textContent = err instanceof ApiError ? err.detail : err.message;
    }
  }

  show(g) {
    const running = Boolean(g.running);
    this.state.textContent = running ? "running" : "stopped";
    this.state.dataset.state = running ? "running" : "stopped";
    if (!this.dirty) {
      if (g.tps !== undefined && g.tps !== null) this.tps.value = g.tps;
      if (g.fraud_rate !== undefined && g.fraud_rate !== null) this.fraud.value = g.fraud_rate;
      if (Array.isArray(g.drift)) this.drift.value = g.drift.join(", ");
      if (g.drift_days !== undefined && g.drift_days !== null) this.driftDays.value = g.drift_days;
    }
    const parts = [`target ${fmtCount(g.tps)} tx/s`, `fraud ${fmtPct(g.fraud_rate, 2)}`];
    if (Array.isArray(g.drift)) {
      parts.push(g.drift.length ? `drift ${g.drift.join(", ")} over ${g.drift_days} d` : "no drift");
    }
    if (g.achieved_tps !== undefined && g.achieved_tps !== null) parts.push(`achieved ${Number(g.achieved_tps).toFixed(1)} tx/s`);
    if (g.sent !== undefined) parts.push(`${fmtCount(g.sent)} sent`);
    this.detail.textContent = parts.join(" · ");
    // a refresh must not erase a refusal: it stays until the next change is sent
    this.error.textContent = g.error ? `generator error: ${g.error}` : this.refusal;
    this.shown += 1;
    this.state.dataset.shown = String(this.shown);
  }

  async send(body) {
    this.refusal = "";
    this.error.textContent = "";
    this.seq = (this.seq || 0) + 1; // refreshes still in flight are now stale
    try {
      const g = await api("v1/generator", { method: "POST", body });
      this.seq += 1;
      this.dirty = false;
      this.show(g);
    } catch (err) {
      const detail = err instanceof ApiError ? err.detail : err.message;
      this.refusal =
        err.status === 401 || err.status === 403 ? `API key refused: enter a valid key above (${detail})` : detail;
      this.error.textContent = this.refusal;
    }
  }
}

// "amount:2, category" -> ["amount:2", "category"]; empty or "none" -> [] (a steady stream).
export function parseDrift(text) {
  const items = text.split(/[\s,]+/).filter(Boolean);
  return items.length === 1 && items[0].toLowerCase() === "none" ? [] : items;
}
