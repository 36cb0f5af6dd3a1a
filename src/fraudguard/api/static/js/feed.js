// Live transaction feed: every scored transaction, newest first, at most MAX_ROWS rows.
//
// Messages can arrive faster than the screen refreshes, so they are queued and drawn once
// per animation frame; only the newest MAX_ROWS of a burst are ever turned into DOM nodes.

import { el, fmtAmount, fmtScore, fmtTime } from "./format.js";
import { keepOpen, showState } from "./ws.js";

export const MAX_ROWS = 200;
const SHORT = { xgboost: "XGB", random_forest: "RF", isolation_forest: "IForest", ensemble: "Ensemble" };

/** The distinctive tail of a long id (the full id is in the cell's title). */
export function shortId(id) {
  return id.length > 14 ? `…${id.slice(-12)}` : id;
}

export class Feed {
  constructor({ onPrediction = () => {} } = {}) {
    this.body = document.getElementById("feed-body");
    this.head = document.getElementById("feed-head");
    this.countNode = document.getElementById("feed-count");
    this.pauseButton = document.getElementById("feed-pause");
    this.models = null; // model names, fixed by the first message
    this.queue = [];
    this.paused = false;
    this.frame = null;
    this.onPrediction = onPrediction;
    this.pauseButton.addEventListener("click", () => this.togglePause());
  }

  start() {
    this.socket = keepOpen("ws/transactions", (m) => this.push(m), showState(document.getElementById("feed-conn")));
    return this;
  }

  togglePause() {
    this.paused = !this.paused;
    this.pauseButton.setAttribute("aria-pressed", String(this.paused));
    this.pauseButton.textContent = this.paused ? "Resume" : "Pause";
    if (!this.paused) this.schedule();
  }

  push(p) {
    if (!p || !p.transaction_id) return;
    this.onPrediction(p);
    this.queue.push(p);
    if (this.queue.length > MAX_ROWS) this.queue.splice(0, this.queue.length - MAX_ROWS);
    this.schedule();
  }

  schedule() {
    if (this.paused || this.frame !== null) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = null;
      this.draw();
    });
  }

  ensureColumns(p) {
    if (this.models) return;
    this.models = Object.keys(p.scores || {});
    const ensembleHeader = this.head.children[5];
    for (const m of this.models) {
      const th = el("th", { scope: "col", className: "num opt", title: m }, SHORT[m] || m);
      this.head.insertBefore(th, ensembleHeader);
    }
  }

  row(p, flash) {
    const fraud = p.decision === "fraud";
    const scores = p.scores || {};
    return el(
      "tr",
      {
        className: (fraud ? "fraud" : "") + (flash ? " new" : ""),
        dataset: { tx: p.transaction_id, decision: p.decision, rules: (p.rule_ids || []).join(",") },
      },
      el("td", { className: "opt" }, fmtTime(p.event_time)),
      el("td", { className: "id opt", title: p.transaction_id }, shortId(p.transaction_id)),
      el("td", { className: "id", title: p.card_id }, p.card_id),
      el("td", { className: "merchant", title: p.merchant_id }, p.merchant_category || p.merchant_id),
      el("td", { className: "num" }, fmtAmount(p.amount, p.currency)),
      ...this.models.map((m) => el("td", { className: "num opt" }, fmtScore(scores[m]))),
      el("td", { className: "num" }, fmtScore(p.ensemble_score)),
      el(
        "td",
        { className: `decision ${fraud ? "fraud" : "legit"}`, title: p.rule_action ? `rule #${p.rule_ids[0]}: ${p.rule_action}` : "" },
        p.rule_action ? `${p.decision} · rule #${p.rule_ids[0]}` : p.decision,
      ),
    );
  }

  draw() {
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.ensureColumns(batch[batch.length - 1]);
    const fragment = document.createDocumentFragment();
    const flash = batch.length <= 20; // a burst (first connect, catch-up) would light up the whole table
    for (let i = batch.length - 1; i >= 0; i -= 1) fragment.append(this.row(batch[i], flash));
    this.body.prepend(fragment);
    while (this.body.rows.length > MAX_ROWS) this.body.lastElementChild.remove();
    this.countNode.textContent = `${this.body.rows.length} rows`;
  }
}
