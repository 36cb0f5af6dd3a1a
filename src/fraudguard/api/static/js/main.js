// Entry point: wire the API-key field and start every panel.

import { getApiKey, setApiKey } from "./api.js";
import { Alerts } from "./alerts.js";
import { CaseQueue } from "./cases.js";
import { RulesPanel } from "./rules.js";
import { Analytics } from "./analytics.js";
import { Feed } from "./feed.js";
import { GeneratorPanel } from "./generator.js";
import { Lifecycle } from "./lifecycle.js";
import { Metrics } from "./metrics.js";
import { Overview } from "./overview.js";

function apiKeyField(onChange) {
  const form = document.getElementById("api-key-form");
  const input = document.getElementById("api-key");
  const status = document.getElementById("api-key-status");
  input.value = getApiKey();
  status.textContent = input.value ? "key set" : "no key (changes need one)";
  window.addEventListener("fraudguard:needs-key", (e) => {
    status.textContent =
      e.detail.status === 401
        ? "this needs an API key: the one `fraudguard api` printed at start, or FRAUDGUARD_API_KEYS"
        : "the API key was refused";
    status.dataset.state = "needs-key";
    if (document.activeElement !== input) input.focus();
  });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    setApiKey(input.value.trim());
    status.textContent = input.value.trim() ? "key saved for this tab" : "key cleared";
    delete status.dataset.state;
    onChange();
  });
}

function main() {
  const overview = new Overview();
  const metrics = new Metrics({ onSnapshot: (s) => overview.live(s) });
  overview.onLive = (s) => metrics.seed(s);
  overview.start();
  metrics.start();
  const analytics = new Analytics().start();
  const feed = new Feed({ onPrediction: (p) => overview.version(p.model_version) }).start();
  const alerts = new Alerts({
    onLabelled: () => {
      overview.refresh();
      analytics.load();
    },
  }).start();
  const generator = new GeneratorPanel().start();
  const lifecycle = new Lifecycle().start();
  const rules = new RulesPanel().start();
  const cases = new CaseQueue().start();
  apiKeyField(() => {
    for (const socket of [feed.socket, metrics.socket, alerts.socket, cases.socket]) socket.reconnect();
    rules.load();
    generator.refresh();
    overview.refresh();
    lifecycle.load();
  });
  window.fraudguard = { overview, analytics, feed, metrics, alerts, generator, lifecycle, rules, cases };
}

// Chart.js is a deferred classic script; module scripts run after it, but be safe.
if (window.Chart) main();
else window.addEventListener("load", main, { once: true });
