"use strict";

// Every string the page shows, in one place: a later issue swaps in Chinese/English catalogues.
const UI = {
  lang: "en",
  locale: "en-GB",
  timeZone: "Asia/Shanghai",
  timeZoneLabel: "times in Beijing time (UTC+8)",
  title: "SiteWatch — city duty desk",
  sites: "Sites",
  openAlerts: "Open alerts",
  noAlerts: "No open alerts.",
  noSites: "No agent has reported yet.",
  updated: "updated",
  connectionLost: "Connection to the hub lost — retrying. What you see below may be out of date.",
  databaseDown: "The hub cannot reach its database — retrying. What you see below may be out of date.",
  online: "online",
  offline: "offline",
  lastSeen: "last seen",
  opened: "since",
  boot: "boot",
  version: "version",
  room: "room",
  agentsCount: (n) => `${n} agent${n === 1 ? "" : "s"}`,
  alertsCount: (n) => `${n} open alert${n === 1 ? "" : "s"}`,
  ago: (seconds) => (seconds < 60 ? `${seconds} s ago` : seconds < 3600 ? `${Math.floor(seconds / 60)} min ago` : `${Math.floor(seconds / 3600)} h ago`),
  status: { ok: "OK", warning: "Warning", fault: "Fault", offline: "Offline", unknown: "Unknown" },
  kind: { camera: "Camera", idcard: "ID-card reader", jammer: "Signal jammer", probe: "Signal probe", other: "Device" },
  offlineReason: { will: "connection lost", shutdown: "shut down", stale: "no heartbeat" },
  alertKind: { agent_offline: "Agent offline" },
  severity: { info: "Info", warning: "Warning", critical: "Critical" },
};

const REFRESH_MS = 2000;
const FETCH_TIMEOUT_MS = 5000;
const STATUS_ORDER = ["ok", "warning", "fault", "offline", "unknown"];

const timeFormat = new Intl.DateTimeFormat(UI.locale, {
  timeZone: UI.timeZone,
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hour12: false,
});

function formatTime(iso) {
  return iso ? timeFormat.format(new Date(iso)) : "—";
}

function secondsSince(iso) {
  return Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
}

// Builds elements with textContent only, so nothing from the wire is ever parsed as HTML.
function el(tag, className, ...children) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  for (const child of children) {
    if (child === null || child === undefined || child === "") continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function statusBadge(status) {
  return el("span", `badge s-${status}`, UI.status[status] ?? status);
}

function statusDot(status) {
  const dot = el("span", `dot s-${status}`);
  dot.title = UI.status[status] ?? status;
  return dot;
}

function alertsBadge(count) {
  return count > 0 ? el("span", "badge s-fault", UI.alertsCount(count)) : null;
}

function detailsText(details) {
  return Object.entries(details ?? {})
    .map(([key, value]) => `${key}=${value}`)
    .join("  ");
}

function renderDevice(device) {
  const name = device.label ? `${device.label} (${device.id})` : device.id;
  return el(
    "li",
    `device d-${device.status}`,
    statusDot(device.status),
    el("span", "kind", UI.kind[device.kind] ?? device.kind),
    el("span", "name", name),
    device.room ? el("span", "muted", `${UI.room} ${device.room}`) : null,
    statusBadge(device.status),
    el("span", "details", detailsText(device.details)),
  );
}

function renderAgent(agent) {
  const seen = agent.last_seen ? `${UI.lastSeen} ${formatTime(agent.last_seen)} (${UI.ago(secondsSince(agent.last_seen))})` : "";
  const liveness = agent.online
    ? el("span", "badge s-ok", UI.online)
    : el("span", "badge s-offline", `${UI.offline}${agent.offline_reason ? ` — ${UI.offlineReason[agent.offline_reason] ?? agent.offline_reason}` : ""}`);
  const node = el(
    "div",
    `agent b-${agent.status}${agent.online ? "" : " is-offline"}`,
    el(
      "div",
      "head",
      statusDot(agent.status),
      el("span", "name", agent.agent_id),
      liveness,
      el("span", "muted", seen),
      agent.sw_version ? el("span", "muted", `${UI.version} ${agent.sw_version}`) : null,
      agent.boot ? el("span", "muted", `${UI.boot} ${agent.boot.slice(0, 8)}`) : null,
    ),
    el("ul", "devices", ...agent.devices.map(renderDevice)),
  );
  node.dataset.agent = agent.agent_id;
  return node;
}

function renderSite(site) {
  const node = el(
    "div",
    `site b-${site.status}`,
    el("div", "head", statusDot(site.status), el("span", "name", site.site_id), statusBadge(site.status), alertsBadge(site.open_alerts), el("span", "muted", UI.agentsCount(site.agents.length))),
    ...site.agents.map(renderAgent),
  );
  node.dataset.site = site.site_id;
  return node;
}

function renderCity(city) {
  return el(
    "div",
    `city b-${city.status}`,
    el("div", "head", statusDot(city.status), el("span", "name", city.city), statusBadge(city.status), alertsBadge(city.open_alerts)),
    ...city.sites.map(renderSite),
  );
}

function renderAlert(alert) {
  const what = UI.alertKind[alert.kind] ?? alert.kind;
  const where = alert.device_id ? `${alert.agent_id} · ${alert.device_id}` : alert.agent_id;
  const reason = alert.details?.reason ? ` — ${UI.offlineReason[alert.details.reason] ?? alert.details.reason}` : "";
  return el(
    "li",
    `alert sev-${alert.severity}`,
    el("div", "head", el("span", "what", `${what}${reason}`), el("span", "badge s-fault", UI.severity[alert.severity] ?? alert.severity)),
    el("div", "", where),
    el("div", "muted", `${UI.opened} ${formatTime(alert.opened_at)} (${UI.ago(secondsSince(alert.opened_at))})`),
  );
}

function render(sites, alerts) {
  const tree = document.getElementById("tree");
  tree.replaceChildren(...(sites.cities.length ? sites.cities.map(renderCity) : [el("p", "empty", UI.noSites)]));
  const list = document.getElementById("alerts");
  list.replaceChildren(...(alerts.alerts.length ? alerts.alerts.map(renderAlert) : [el("li", "empty", UI.noAlerts)]));
  document.getElementById("alerts-title").textContent = `${UI.openAlerts} (${alerts.alerts.length})`;
  document.getElementById("updated").textContent = `${UI.updated} ${formatTime(sites.generated_at)} · ${UI.timeZoneLabel}`;
}

async function fetchJson(path) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), FETCH_TIMEOUT_MS);
  try {
    const response = await fetch(path, { cache: "no-store", signal: controller.signal });
    if (!response.ok) throw Object.assign(new Error(`${path}: HTTP ${response.status}`), { status: response.status });
    return await response.json();
  } finally {
    clearTimeout(timer);
  }
}

// error: null when the last refresh worked; a 503 means the hub answers but its database does not.
function showProblem(error) {
  const banner = document.getElementById("banner");
  banner.textContent = error?.status === 503 ? UI.databaseDown : UI.connectionLost;
  banner.hidden = error === null;
}

async function refresh() {
  try {
    const [sites, alerts] = await Promise.all([fetchJson("api/sites"), fetchJson("api/alerts?state=open")]);
    render(sites, alerts);
    showProblem(null);
  } catch (error) {
    console.warn("refresh failed", error);
    showProblem(error);
  } finally {
    setTimeout(refresh, REFRESH_MS);
  }
}

function init() {
  document.documentElement.lang = UI.lang;
  document.title = UI.title;
  document.getElementById("title").textContent = UI.title;
  document.getElementById("sites-title").textContent = UI.sites;
  document.getElementById("alerts-title").textContent = UI.openAlerts;
  document.getElementById("legend").replaceChildren(...STATUS_ORDER.map((s) => el("span", "", statusDot(s), UI.status[s])));
  refresh();
}

document.addEventListener("DOMContentLoaded", init);
