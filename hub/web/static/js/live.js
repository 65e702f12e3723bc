// The live connection: server-sent events from /api/v1/live.  Shows plainly when it is lost: on an
// error, and when no event (not even a ping) arrived for three ping intervals.
import { t } from "./i18n.js";
import { goSignIn } from "./api.js";

const listeners = new Set();
let source = null;
let lastEvent = 0;
let pingMs = 5000;
let connected = false;

function show(state) {
  connected = state === "on";
  const node = document.getElementById("live");
  node.className = `live live-${state}`;
  node.dataset.state = state;
  node.textContent = t(`live.${state}`);
  const banner = document.getElementById("banner");
  if (state === "lost") {
    banner.textContent = t("live.lost_banner");
    banner.dataset.kind = "live";
    banner.hidden = false;
  } else if (banner.dataset.kind === "live") {
    banner.hidden = true;
  }
}

function heard() {
  lastEvent = Date.now();
  if (!connected) show("on");
}

export function onChange(listener) {
  listeners.add(listener);
}

export function startLive() {
  show("connecting");
  source = new EventSource("/api/v1/live");
  source.addEventListener("hello", (e) => {
    pingMs = (JSON.parse(e.data).ping_s ?? 5) * 1000;
    heard();
    // Anything may have changed while we were away.
    for (const listener of listeners) listener([{ what: "resync", city: "", site: "" }]);
  });
  source.addEventListener("ping", heard);
  source.addEventListener("change", (e) => {
    heard();
    const changes = JSON.parse(e.data);
    for (const listener of listeners) listener(changes);
  });
  source.addEventListener("signed_out", () => {
    source.close();
    goSignIn();
  });
  source.onerror = () => show("lost");
  setInterval(() => {
    if (connected && Date.now() - lastEvent > 3 * pingMs) show("lost");
  }, 500);
}

// Call fn at most once per `ms`, always running the last call (so a burst ends in one fresh fetch).
export function debounce(fn, ms) {
  let timer = null;
  return () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      fn();
    }, ms);
  };
}
