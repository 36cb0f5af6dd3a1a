// HTTP client of the FraudGuard API: JSON in and out, the API key from sessionStorage.
//
// The key is kept in sessionStorage (gone when the tab closes, never in localStorage or a
// cookie) and sent as X-API-Key on every request when set: write endpoints require it and
// a deployment may require it for reads too.

const KEY_STORAGE = "fraudguard.apiKey";

export function getApiKey() {
  try {
    return sessionStorage.getItem(KEY_STORAGE) || "";
  } catch {
    return "";
  }
}

export function setApiKey(key) {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
}

export class ApiError extends Error {
  constructor(status, detail) {
    super(`${status}: ${detail}`);
    this.status = status;
    this.detail = detail;
  }
}

function detailOf(body) {
  if (!body) return "";
  if (typeof body === "string") return body;
  const d = body.detail ?? body.error ?? body.message;
  if (Array.isArray(d)) {
    // FastAPI 422: [{loc: [...], msg: "..."}]
    return d.map((e) => `${(e.loc || []).filter((p) => p !== "body").join(".")}: ${e.msg}`).join("; ");
  }
  if (d && typeof d === "object") return d.reason ? `${d.field ?? ""} ${d.reason}`.trim() : JSON.stringify(d);
  return d ? String(d) : JSON.stringify(body);
}

/** Call the API; resolves to the decoded JSON body, rejects with ApiError on non-2xx. */
export async function api(path, { method = "GET", body, query, signal } = {}) {
  const url = new URL(path, document.baseURI);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, v);
  }
  const headers = { Accept: "application/json" };
  const key = getApiKey();
  if (key) headers["X-API-Key"] = key;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (res.status === 401 || res.status === 403) {
    // the dashboard asks for a key (main.js): writes always need one
    window.dispatchEvent(new CustomEvent("fraudguard:needs-key", { detail: { status: res.status } }));
  }
  if (!res.ok) throw new ApiError(res.status, detailOf(data) || res.statusText);
  return data;
}
