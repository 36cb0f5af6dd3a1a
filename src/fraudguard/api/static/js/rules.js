// Rules editor: write a condition, backtest it on the history, save it as a draft, activate it.
//
// The API checks every condition; its 422 message names the line and column, shown under
// the field. "Activate" is enabled only after a backtest of the exact text being saved,
// so no rule goes live unseen.

import { api } from "./api.js";
import { el, fmtCount, fmtPct, toast } from "./format.js";

export class RulesPanel {
  constructor() {
    this.form = document.getElementById("rule-form");
    this.list = document.getElementById("rule-list");
    this.result = document.getElementById("backtest-body");
    this.summary = document.getElementById("backtest-summary");
    this.error = document.getElementById("rule-error");
    this.activateButton = document.getElementById("rule-activate");
    this.backtested = null; // the condition text of the last successful backtest
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.backtest();
    });
    document.getElementById("rule-save").addEventListener("click", () => this.save("draft"));
    this.activateButton.addEventListener("click", () => this.save("active"));
    this.form.elements.condition.addEventListener("input", () => this.sync());
  }

  start() {
    this.load();
    return this;
  }

  values() {
    const f = this.form.elements;
    return {
      name: f.name.value.trim(),
      condition: f.condition.value.trim(),
      action: f.action.value,
      priority: Number(f.priority.value || 0),
    };
  }

  sync() {
    this.activateButton.disabled = this.backtested === null || this.backtested !== this.values().condition;
  }

  async load() {
    try {
      const rules = await api("v1/rules");
      this.list.replaceChildren(
        ...rules.map((r) =>
          el(
            "li",
            { dataset: { rule: String(r.id), state: r.state } },
            el("span", { className: `pill state-${r.state}` }, r.state),
            ` #${r.id} ${r.name} (${r.action}, p${r.priority}, v${r.version}): `,
            el("code", {}, r.condition),
          ),
        ),
      );
    } catch (err) {
      this.list.replaceChildren(el("li", { className: "muted" }, `rules unavailable: ${err.detail || err.message}`));
    }
  }

  async backtest() {
    const { condition } = this.values();
    this.error.textContent = "";
    this.summary.textContent = "running…";
    try {
      const out = await api("v1/rules/backtest", { method: "POST", body: { condition, since: this.form.elements.since.value } });
      this.result.replaceChildren(
        ...out.days.map((d) =>
          el(
            "tr",
            { dataset: { day: d.day } },
            el("td", {}, d.day),
            el("td", { className: "num" }, fmtCount(d.transactions)),
            el("td", { className: "num" }, fmtCount(d.hits)),
            el("td", { className: "num" }, fmtPct(d.precision)),
            el("td", { className: "num" }, fmtPct(d.recall)),
            el("td", { className: "num" }, fmtCount(d.overlap_with_model)),
            el("td", { className: "num" }, d.extra_alerts_per_1000.toFixed(2)),
          ),
        ),
      );
      const t = out.total;
      this.summary.textContent = t
        ? `${fmtCount(t.hits)} hits in ${fmtCount(out.rows)} transactions (${out.seconds.toFixed(2)} s)`
        : "no history yet";
      this.summary.dataset.hits = t ? String(t.hits) : "0";
      this.backtested = condition;
    } catch (err) {
      this.error.textContent = err.detail || err.message;
      this.summary.textContent = "";
      this.backtested = null;
    }
    this.sync();
  }

  async save(state) {
    this.error.textContent = "";
    const body = { ...this.values(), state };
    try {
      const existing = (await api("v1/rules")).find((r) => r.name === body.name);
      const rule = existing
        ? await api(`v1/rules/${existing.id}`, { method: "PUT", body })
        : await api("v1/rules", { method: "POST", body });
      toast(`Rule #${rule.id} ${rule.name} saved as ${rule.state}`);
      document.getElementById("rule-status").textContent = `#${rule.id} ${rule.state}`;
      document.getElementById("rule-status").dataset.rule = String(rule.id);
      await this.load();
    } catch (err) {
      this.error.textContent = err.detail || err.message;
    }
  }
}
