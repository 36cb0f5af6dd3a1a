// A WebSocket that reconnects with exponential backoff and jitter.
//
// Browsers cannot set headers on a WebSocket, so the API key (when set) travels as a
// subprotocol, ``fg-key.<base64url(key)>`` next to ``fraudguard`` (the one the server
// picks), never in the URL: URLs end up in access logs. Messages are JSON; a frame
// holding a list is delivered item by item so panels see one record per call.

import { getApiKey } from "./api.js";

const MIN_DELAY_MS = 500;
const MAX_DELAY_MS = 30_000;

export function wsUrl(path) {
  const url = new URL(path, document.baseURI);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url;
}

/** The subprotocols to offer: "fraudguard", plus the key as base64url when one is set. */
export function wsProtocols() {
  const key = getApiKey();
  if (!key) return ["fraudguard"];
  const bytes = new TextEncoder().encode(key);
  let bin = "";
  bytes.forEach((b) => (bin += String.fromCharCode(b)));
  const token = btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  return ["fraudguard", `fg-key.${token}`];
}

/** An envelope ({type, data} or {items}) gives its payload; a bare record or list is itself. */
export function unwrap(msg) {
  if (msg && typeof msg === "object" && !Array.isArray(msg) && !("transaction_id" in msg)) {
    if ("data" in msg) return msg.data;
    if ("items" in msg) return msg.items;
  }
  return msg;
}

/**
 * Keep a socket to ``path`` open. ``onMessage(obj)`` gets each decoded record,
 * ``onState(state, detail)`` gets "connecting" | "open" | "closed".
 * Returns {close()} to stop for good.
 */
export function keepOpen(path, onMessage, onState = () => {}) {
  let socket = null;
  let attempt = 0;
  let timer = null;
  let stopped = false;

  function schedule() {
    const base = Math.min(MAX_DELAY_MS, MIN_DELAY_MS * 2 ** attempt);
    const delay = base / 2 + Math.random() * (base / 2);
    attempt += 1;
    onState("closed", `reconnecting in ${(delay / 1000).toFixed(1)} s`);
    timer = setTimeout(open, delay);
  }

  function open() {
    if (stopped) return;
    onState("connecting", "connecting…");
    socket = new WebSocket(wsUrl(path), wsProtocols());
    socket.onopen = () => {
      attempt = 0;
      onState("open", "live");
    };
    socket.onmessage = (event) => {
      let msg;
      try {
        msg = JSON.parse(event.data);
      } catch {
        return; // not JSON: ignore (pings, future binary frames)
      }
      msg = unwrap(msg);
      if (Array.isArray(msg)) msg.forEach(onMessage);
      else if (msg !== null && msg !== undefined) onMessage(msg);
    };
    socket.onclose = () => {
      socket = null;
      if (!stopped) schedule();
    };
    socket.onerror = () => {
      /* onclose follows and schedules the retry */
    };
  }

  open();
  return {
    close() {
      stopped = true;
      clearTimeout(timer);
      if (socket) socket.close();
    },
    reconnect() {
      // New API key: drop the socket so the next one carries it.
      attempt = 0;
      if (socket) socket.close();
    },
  };
}

/** Reflect a socket's state in a status element (text + data-state for the colour). */
export function showState(node) {
  return (state, detail) => {
    node.dataset.state = state;
    node.textContent = detail;
  };
}
