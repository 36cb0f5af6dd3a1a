// The case queue, usable by keyboard alone.
//
// Keys (when the queue has focus): j / ArrowDown next, k / ArrowUp previous, c confirm fraud,
// l legitimate, n add a note, a assign to me. Time to triage (from a case being shown
// until it is resolved) is measured here and its average displayed.

import { api } from "./api.js";
import { el, fmtAmount, fmtScore, fmtTime, toast } from "./format.js";
import { keepOpen, showState } from "./ws.js";

export class CaseQueue {
  constructor() {
    this.list = document.getElementById("case-list");
    this.detail = document.getElementById("case-detail");
    this.stats = document.getElementById("case-triage");
    this.noteForm = document.getElementById("case-note-form");
    this.cases = [];
    this.index = 0;
    this.shownAt = null;
    this.triage = [];
    this.list.addEventListener("keydown", (e) => this.key(e));
    this.noteForm.addEventListener("submit", (e) => {
      e.preventDefault();
      this.note();
    });
    document.getElementById("case-refresh").addEventListener("click", () => this.load());
  }

  start() {
    this.load();
    this.socket = keepOpen("ws/cases", () => this.scheduleLoad(), showState(document.getElementById("cases-conn")));
    return this;
  }

  scheduleLoad() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.load(), 300);
  }

  async load() {
    try {
      const open = await api("v1/cases", { query: { status: "open", limit: 50 } });
      const review = await api("v1/cases", { query: { status: "in_review", limit: 50 } });
      const current = this.cases[this.index]?.id;
      this.cases = [...review.items, ...open.items].sort((a, b) => a.id - b.id);
      const keep = this.cases.findIndex((c) => c.id === current);
      this.index = keep >= 0 ? keep : Math.min(this.index, Math.max(0, this.cases.length - 1));
      this.draw();
    } catch (err) {
      this.list.replaceChildren(el("li", { className: "muted" }, `cases unavailable: ${err.detail || err.message}`));
    }
  }

  draw() {
    this.list.replaceChildren(
      ...this.cases.map((c, i) =>
        el(
          "li",
          {
            id: `case-${c.id}`,
            role: "option",
            className: i === this.index ? "selected" : "",
            ariaSelected: String(i === this.index),
            dataset: { case: String(c.id), status: c.status },
          },
          `#${c.id} ${c.card_id} · ${c.alerts} alert${c.alerts === 1 ? "" : "s"} · max ${fmtScore(c.max_score)} · ${c.status}`,
          c.assignee ? ` · ${c.assignee}` : "",
        ),
      ),
    );
    const c = this.cases[this.index];
    this.list.setAttribute("aria-activedescendant", c ? `case-${c.id}` : "");
    this.list.dataset.count = String(this.cases.length);
    this.show(c);
  }

  async show(c) {
    if (!c) {
      this.detail.replaceChildren(el("p", { className: "muted" }, "No open cases."));
      return;
    }
    if (this.detail.dataset.case !== String(c.id)) this.shownAt = performance.now();
    this.detail.dataset.case = String(c.id);
    try {
      const [d, card] = await Promise.all([api(`v1/cases/${c.id}`), api(`v1/cards/${encodeURIComponent(c.card_id)}/risk`).catch(() => null)]);
      const history = card
        ? el("p", { className: "small", dataset: { risk: card.risk_level } },
            `Card history: ${card.transactions} transactions, ${card.alerts} alerts, average ${fmtAmount(card.amount_avg)}, ` +
            `risk ${card.risk_level}, ${card.velocity.transactions_1h} in the last hour`)
        : el("p", { className: "muted small" }, "card history unavailable");  // prettier-ignore
      this.detail.replaceChildren(
        el("h3", {}, `Case #${d.id} · card ${d.card_id}`),
        history,
        el(
          "ul",
          { className: "case-alerts" },
          ...d.alert_list.map((a) =>
            el(
              "li",
              {},
              `${fmtTime(a.event_time)} ${fmtAmount(a.amount)} score ${fmtScore(a.ensemble_score)} — `,
              [...a.rule_ids.map((r) => `rule #${r}`), ...a.reasons].join(", ") || "no reason codes",
            ),
          ),
        ),
        el("ol", { className: "case-events muted small" }, ...d.events.map((e) => el("li", {}, `${fmtTime(e.at)} ${e.actor}: ${e.kind}${e.detail.text ? ` — ${e.detail.text}` : ""}`))),
      );
    } catch (err) {
      this.detail.replaceChildren(el("p", { className: "error" }, err.detail || err.message));
    }
  }

  key(e) {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const actions = {
      j: () => this.move(1), ArrowDown: () => this.move(1),
      k: () => this.move(-1), ArrowUp: () => this.move(-1),
      c: () => this.resolve("confirmed_fraud"), l: () => this.resolve("legitimate"),
      a: () => this.assign(), n: () => this.noteForm.elements.text.focus(),
    };  // prettier-ignore
    const action = actions[e.key];
    if (!action) return;
    e.preventDefault();
    action();
  }

  move(step) {
    if (!this.cases.length) return;
    this.index = (this.index + step + this.cases.length) % this.cases.length;
    this.draw();
  }

  async assign() {
    const c = this.cases[this.index];
    if (!c) return;
    try {
      await api(`v1/cases/${c.id}/assign`, { method: "POST", body: { assignee: "dashboard" } });
      await this.load();
    } catch (err) {
      toast(`Assign: ${err.detail || err.message}`);
    }
  }

  async resolve(outcome) {
    const c = this.cases[this.index];
    if (!c) return;
    try {
      await api(`v1/cases/${c.id}/resolve`, { method: "POST", body: { outcome } });
      if (this.shownAt !== null) this.triage.push((performance.now() - this.shownAt) / 1000);
      const avg = this.triage.reduce((s, v) => s + v, 0) / this.triage.length;
      this.stats.textContent = `${this.triage.length} triaged · average ${avg.toFixed(1)} s`;
      this.stats.dataset.triaged = String(this.triage.length);
      toast(`Case #${c.id}: ${outcome.replace("_", " ")}`);
      await this.load();
    } catch (err) {
      toast(`Resolve: ${err.detail || err.message}`);
    }
  }

  async note() {
    const c = this.cases[this.index];
    const input = this.noteForm.elements.text;
    if (!c || !input.value.trim()) return;
    try {
      await api(`v1/cases/${c.id}/notes`, { method: "POST", body: { text: input.value.trim() } });
      input.value = "";
      this.list.focus();
      this.show(c);
    } catch (err) {
      toast(`Note: ${err.detail || err.message}`);
    }
  }
}
