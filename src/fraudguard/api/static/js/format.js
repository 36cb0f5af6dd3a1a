// Small formatting and DOM helpers shared by every panel. All text goes in with textContent,
// never innerHTML, so a merchant name or reason code cannot inject markup.

const money = new Intl.NumberFormat(undefined, { style: "currency", currency: "USD", maximumFractionDigits: 2 });
const count = new Intl.NumberFormat(undefined);

export function fmtAmount(v, currency = "USD") {
  if (v === null || v === undefined || Number.isNaN(Number(v))) return "—";
  if (currency && currency !== "USD") {
    try {
      return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(v);
    } catch {
      /* unknown currency code: fall through */
    }
  }
  return money.format(v);
}

export function fmtCount(v) {
  return v === null || v === undefined ? "—" : count.format(v);
}

export function fmtScore(v) {
  return v === null || v === undefined || Number.isNaN(Number(v)) ? "—" : Number(v).toFixed(3);
}

export function fmtPct(v, digits = 1) {
  return v === null || v === undefined || Number.isNaN(Number(v)) ? "—" : `${(Number(v) * 100).toFixed(digits)}%`;
}

export function fmtMs(v) {
  if (v === null || v === undefined || Number.isNaN(Number(v))) return "—";
  return v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${Math.round(v)} ms`;
}

export function fmtTime(v) {
  if (!v) return "—";
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? String(v) : d.toLocaleTimeString(undefined, { hour12: false });
}

export function fmtDateTime(v) {
  if (!v) return "—";
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? String(v) : d.toLocaleString(undefined, { hour12: false });
}

/** Create an element: el("td", {className: "num", title: "x"}, "text", childNode, ...). */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null) continue;
    if (k === "dataset") Object.assign(node.dataset, v);
    else if (k.startsWith("aria-") || k === "role" || k === "scope") node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : String(c));
  }
  return node;
}

/** <dl> content from [label, value] pairs. */
export function facts(dl, pairs) {
  dl.replaceChildren(...pairs.map(([k, v]) => el("div", {}, el("dt", {}, k), el("dd", {}, v ?? "—"))));
}

let toastTimer = null;
/** Show a short message (errors of user actions) without using the console. */
export function toast(message) {
  const box = document.getElementById("toast");
  box.textContent = message;
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { box.hidden = true; }, 6000);
}
