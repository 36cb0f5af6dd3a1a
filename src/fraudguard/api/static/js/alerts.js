// Alerts: the list (REST page + live WebSocket), the detail dialog with the card's risk,
// and the analyst's verdict, posted as a label.

import { api, ApiError } from "./api.js";
import { el, facts, fmtAmount, fmtCount, fmtDateTime, fmtScore, fmtTime, toast } from "./format.js";
import { keepOpen, showState } from "./ws.js";

const MAX_ALERTS = 200;
const PAGE = 50;

function labelOf(a) {
  const v = a.label ?? null;
  return v === null || v === undefined ? null : v ? "fraud" : "legit";
}

function humanKey(key) {
  return key.replace(/_/g, " ");
}

export class Alerts {
  constructor({ onLabelled = () => {} } = {}) {
    this.list = document.getElementById("alert-list");
    this.more = document.getElementById("alerts-more");
    this.form = document.getElementById("alerts-filters");
    this.dialog = document.getElementById("alert-dialog");
    this.status = document.getElementById("label-status");
    this.byId = new Map();
    this.cursor = null;
    this.current = null;
    this.onLabelled = onLabelled;
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.load();
    });
    document.getElementById("alerts-refresh").addEventListener("click", () => this.load());
    this.more.addEventListener("click", () => this.load({ append: true }));
    document.getElementById("label-fraud").addEventListener("click", () => this.label(true));
    document.getElementById("label-legit").addEventListener("click", () => this.label(false));
    this.dialog.addEventListener("close", () => this.opener?.focus());
  }

  filters() {
    const data = new FormData(this.form);
    return { min_score: data.get("min_score") };
  }

  start() {
    this.load();
    this.socket = keepOpen("ws/alerts", (a) => this.live(a), showState(document.getElementById("alerts-conn")));
    return this;
  }

  async load({ append = false } = {}) {
    const query = { limit: PAGE, ...this.filters() };
    if (append && this.cursor) query.cursor = this.cursor;
    try {
      const page = await api("v1/alerts", { query });
      if (!append) {
        this.byId.clear();
        this.list.replaceChildren();
      }
      for (const a of page.items || []) this.add(a, { atTop: false });
      this.cursor = page.next_cursor || null;
      this.more.hidden = !this.cursor;
    } catch (err) {
      toast(`Alerts: ${err.detail || err.message}`);
    }
  }

  matches(a) {
    const f = this.filters();
    if (f.min_score && Number(a.ensemble_score) < Number(f.min_score)) return false;
    return true;
  }

  live(a) {
    if (!a || !a.transaction_id || !this.matches(a)) return;
    this.add(a, { atTop: true });
  }

  add(a, { atTop }) {
    if (this.byId.has(a.transaction_id)) return;
    const item = this.item(a);
    this.byId.set(a.transaction_id, { alert: a, node: item });
    if (atTop) this.list.prepend(item);
    else this.list.append(item);
    while (this.list.children.length > MAX_ALERTS) {
      const last = this.list.lastElementChild;
      this.byId.delete(last.dataset.tx);
      last.remove();
    }
  }

  item(a) {
    const label = labelOf(a);
    const reasons = a.reasons || [];
    const button = el(
      "button",
      {
        type: "button",
        className: "alert-item",
        dataset: { tx: a.transaction_id, label: label || "" },
        "aria-label": `Alert ${a.transaction_id}, ${fmtAmount(a.amount)} on card ${a.card_id}, score ${fmtScore(a.ensemble_score)}, reasons: ${reasons.join(", ") || "none"}${label ? `, labelled ${label}` : ""}`,
      },
      el("span", { className: "amount" }, `${fmtAmount(a.amount)} · ${a.merchant_category || a.merchant_id}`),
      el("span", { className: "score" }, fmtScore(a.ensemble_score)),
      el("span", { className: "meta" }, `${fmtTime(a.event_time)} · card ${a.card_id}`),
      el("span", { className: "label-tag" }, label ? `labelled ${label}` : ""),
      el("ul", { className: "chips", "aria-hidden": "true" }, ...reasons.map((r) => el("li", { className: "chip" }, r))),
    );
    button.addEventListener("click", () => this.open(a.transaction_id, button));
    return el("li", { dataset: { tx: a.transaction_id } }, button);
  }

  async open(transactionId, opener) {
    const entry = this.byId.get(transactionId);
    if (!entry) return;
    const a = entry.alert;
    this.current = a;
    this.opener = opener;
    this.status.textContent = "";
    document.getElementById("alert-dialog-title").textContent = `Alert ${a.transaction_id}`;
    const scores = a.scores || {};
    facts(document.getElementById("alert-facts"), [
      ["Amount", fmtAmount(a.amount)],
      ["Merchant", `${a.merchant_id} (${a.merchant_category})`],
      ["Card", a.card_id],
      ["Event time", fmtDateTime(a.event_time)],
      ["Ensemble score", `${fmtScore(a.ensemble_score)} ≥ ${fmtScore(a.threshold)}`],
      ...Object.entries(scores).map(([m, s]) => [humanKey(m), fmtScore(s)]),
      ["Model version", a.model_version],
      ["Label", labelOf(a) || "none"],
    ]);
    const reasons = document.getElementById("alert-reasons");
    reasons.replaceChildren(...(a.reasons || []).map((r) => el("li", {}, r)));
    if (!reasons.children.length) reasons.append(el("li", {}, "no reason codes"));
    document.getElementById("card-facts").replaceChildren(el("div", {}, el("dt", {}, "loading"), el("dd", {}, "…")));
    document.getElementById("card-history").replaceChildren();
    if (!this.dialog.open) this.dialog.showModal();
    document.getElementById("label-fraud").focus();
    this.loadCard(a.card_id);
  }

  async loadCard(cardId) {
    let risk;
    try {
      risk = await api(`v1/cards/${encodeURIComponent(cardId)}/risk`);
    } catch (err) {
      facts(document.getElementById("card-facts"), [["Card risk", err instanceof ApiError ? err.detail : err.message]]);
      return;
    }
    if (!this.current || this.current.card_id !== cardId) return; // dialog moved on
    const pairs = [
      ["Risk level", risk.risk_level || "—"],
      ["Transactions", fmtCount(risk.transactions)],
      ["Alerts", fmtCount(risk.alerts)],
      ["Total amount", fmtAmount(risk.amount_sum)],
      ["Average amount", fmtAmount(risk.amount_avg)],
      ["Max score", fmtScore(risk.max_score)],
      ["First seen", fmtDateTime(risk.first_seen)],
      ["Last seen", fmtDateTime(risk.last_seen)],
    ];
    const velocity = risk.velocity || {};
    for (const [k, v] of Object.entries(velocity)) {
      const shown = typeof v !== "number" ? String(v) : k.startsWith("amount") ? fmtAmount(v) : fmtCount(v);
      pairs.push([`velocity: ${humanKey(k)}`, shown]);
    }
    facts(document.getElementById("card-facts"), pairs);
    const recent = risk.recent_transactions || risk.recent_alerts || [];
    document.getElementById("card-history-title").textContent = risk.recent_transactions
      ? "Card's recent transactions"
      : "Card's recent alerts";
    const rows = recent.map((t) =>
      el(
        "tr",
        { className: t.decision === "fraud" ? "fraud" : "" },
        el("td", {}, fmtDateTime(t.event_time)),
        el("td", {}, t.merchant_category || t.merchant_id),
        el("td", { className: "num" }, fmtAmount(t.amount)),
        el("td", { className: "num" }, fmtScore(t.ensemble_score)),
        el("td", { className: `decision ${t.decision}` }, t.decision),
        el("td", {}, labelOf(t) || "—"),
      ),
    );
    document.getElementById("card-history").replaceChildren(...rows);
  }

  async label(isFraud) {
    const a = this.current;
    if (!a) return;
    const buttons = [document.getElementById("label-fraud"), document.getElementById("label-legit")];
    buttons.forEach((b) => { b.disabled = true; });
    this.status.textContent = "saving…";
    try {
      await api("v1/labels", {
        method: "POST",
        body: { transaction_id: a.transaction_id, is_fraud: isFraud, source: "analyst" },
      });
      a.label = isFraud;
      const verdict = isFraud ? "fraud" : "legit";
      this.status.textContent = `Saved: ${verdict}`;
      const entry = this.byId.get(a.transaction_id);
      if (entry) {
        const fresh = this.item(a);
        entry.node.replaceWith(fresh);
        entry.node = fresh;
        this.opener = fresh.querySelector("button");
      }
      this.onLabelled(a, isFraud);
    } catch (err) {
      const detail = err instanceof ApiError ? err.detail : err.message;
      this.status.textContent =
        err.status === 401 || err.status === 403 ? `Not saved: API key refused (${detail})` : `Not saved: ${detail}`;
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  }
}
