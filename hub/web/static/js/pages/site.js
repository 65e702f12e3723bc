// One site: vault cameras with their latest snapshot, rooms with reader and jammer state, alerts, timeline.
import { get } from "../api.js";
import { el, statusBadge, statusDot, table } from "../dom.js";
import { cityName, formatTime, t, tOr } from "../i18n.js";
import { debounce, onChange } from "../live.js";
import { guarded } from "../problem.js";
import { alertActions, mayRedraw } from "./alerts.js";

const SAFETY_REFRESH_MS = 30000;
const ROOM_KINDS = ["idcard", "jammer"];

function detailsText(details) {
  return Object.entries(details ?? {})
    .map(([key, value]) => `${tOr(`detail.${key}`, key)}: ${value}`)
    .join(" · ");
}

function snapshotBox(url) {
  const box = el("div", { class: "snapshot", role: "img", "aria-label": t("site.snapshot_none") }, el("span", {}, t("site.snapshot_none")));
  get(url)
    .then((snap) => {
      if (!snap?.available) return;
      const when = t("site.snapshot_taken", { time: formatTime(snap.taken_at) });
      box.setAttribute("aria-label", when);
      box.replaceChildren(el("img", { src: snap.image_url, alt: when, width: snap.width, height: snap.height }), el("span", { class: "muted small" }, when));
    })
    .catch(() => {}); // the placeholder stays; the page's own refresh reports a lost connection
  return box;
}

function camera(cam) {
  const d = cam.device;
  return el(
    "figure",
    { class: `camera b-${d.status}`, dataset: { device: d.id, status: d.status } },
    snapshotBox(cam.snapshot),
    el("figcaption", {}, statusDot(d.status), el("span", { class: "name" }, d.label || d.id), statusBadge(d.status), el("div", { class: "muted" }, detailsText(d.details)), el("div", { class: "muted" }, t("site.updated_at", { time: formatTime(d.updated_at) }))),
  );
}

function deviceCell(devices) {
  if (!devices.length) return el("td", { class: "muted" }, "—");
  return el(
    "td",
    {},
    devices.map((d) => el("div", { class: "device", dataset: { device: d.id, status: d.status } }, statusBadge(d.status), " ", el("span", { class: "muted" }, d.label || d.id), d.identity ? el("div", { class: "muted small identity" }, t("site.identity", { identity: d.identity })) : null, el("div", { class: "muted small" }, detailsText(d.details)))),
  );
}

function roomRow(room) {
  const others = room.devices.filter((d) => !ROOM_KINDS.includes(d.kind));
  return el(
    "tr",
    { dataset: { room: room.room } },
    el("th", {}, room.room || t("site.no_room")),
    deviceCell(room.devices.filter((d) => d.kind === "idcard")),
    deviceCell(room.devices.filter((d) => d.kind === "jammer")),
    deviceCell(others),
  );
}

// Whether the agent holds the calendar in force (the go / no-go's red reason, visible before the check runs).
// ``held`` is "none" when the agent holds no calendar, null when unknown (no heartbeat yet, or an older agent).
function calendarBadge(held, current) {
  if (!current || !held) return null;
  if (held === current) return el("span", { class: "muted", dataset: { calendar: "current" } }, t("site.calendar_current", { version: held }));
  const none = held === "none";
  const text = none ? t("site.calendar_none", { current }) : t("site.calendar_stale", { version: held, current });
  return el("span", { class: "badge s-warning", dataset: { calendar: none ? "none" : "stale" } }, text);
}

function agentLine(agent, current) {
  const state = agent.online ? t("site.online") : `${t("site.offline")}${agent.offline_reason ? ` — ${tOr(`offline_reason.${agent.offline_reason}`, agent.offline_reason)}` : ""}`;
  return el(
    "li",
    { dataset: { agent: agent.agent_id } },
    statusDot(agent.status),
    el("span", { class: "name" }, agent.agent_id),
    el("span", { class: `badge ${agent.online ? "s-ok" : "s-offline"}` }, state),
    el("span", { class: "muted" }, t("site.last_seen", { time: formatTime(agent.last_seen) })),
    agent.sw_version ? el("span", { class: "muted" }, t("site.version", { version: agent.sw_version })) : null,
    calendarBadge(agent.calendar_version, current),
  );
}

function timelineRow(entry) {
  const what = entry.kind.startsWith("event.") ? tOr(`event.${entry.text}`, entry.text) : `${t(`timeline.${entry.kind}`)} · ${tOr(`alert_kind.${entry.text}`, entry.text)}`;
  const extra = entry.kind === "alert.acknowledged" ? t("timeline.by", { by: entry.details.by ?? "", comment: entry.details.comment ?? "" }) : detailsText(entry.kind.startsWith("event.") ? entry.details : {});
  return el(
    "tr",
    { class: `sev-${entry.severity}` },
    el("td", { class: "time" }, formatTime(entry.time)),
    el("td", {}, what),
    el("td", {}, entry.device_id ?? entry.agent_id ?? ""),
    el("td", { class: "muted" }, extra),
  );
}

export async function showSite(city, site) {
  const main = document.getElementById("main");
  const head = el("div", { class: "page-head" }, el("h1", {}, `${cityName(city)} · ${site}`), el("span", { id: "site-status" }), el("span", { id: "updated", class: "muted" }));
  const agents = el("ul", { class: "agents" });
  const cameras = el("div", { class: "cameras" });
  const rooms = el("div", {});
  const alerts = el("div", {});
  const timeline = el("div", {});
  main.replaceChildren(
    head,
    agents,
    el("section", {}, el("h2", {}, t("site.cameras")), cameras),
    el("section", {}, el("h2", {}, t("site.rooms")), rooms),
    el("section", {}, el("h2", {}, t("site.alerts")), alerts),
    el("section", {}, el("h2", {}, t("site.timeline")), timeline),
  );

  async function refresh() {
    if (!mayRedraw(soon)) return;
    let data;
    try {
      data = await get(`/api/v1/sites/${city}/${site}`);
    } catch (error) {
      if (error.status === 404) {
        main.replaceChildren(el("p", { class: "empty" }, t("page.not_found.text")));
        return;
      }
      throw error;
    }
    document.getElementById("site-status").replaceChildren(statusBadge(data.status));
    document.getElementById("updated").textContent = t("common.updated", { time: formatTime(data.generated_at) });
    agents.replaceChildren(...data.agents.map((agent) => agentLine(agent, data.calendar_version)));
    cameras.replaceChildren(...(data.cameras.length ? data.cameras.map(camera) : [el("p", { class: "empty" }, t("site.no_cameras"))]));
    rooms.replaceChildren(table(["site.room", "kind.idcard", "kind.jammer", "site.other"], data.rooms.map(roomRow), "site.no_rooms"));
    const open = data.alerts.filter((a) => a.open);
    alerts.replaceChildren(
      table(
        ["alerts.opened", "alerts.kind", "alerts.severity", "alerts.state", ""],
        open.map((a) =>
          el("tr", { dataset: { alert: String(a.id) } }, el("td", {}, formatTime(a.opened_at)), el("td", {}, tOr(`alert_kind.${a.kind}`, a.kind)), el("td", {}, el("span", { class: `badge sev-${a.severity}` }, t(`severity.${a.severity}`))), el("td", {}, a.acknowledged_at ? t("alerts.acknowledged_by", { by: a.acknowledged_by, time: formatTime(a.acknowledged_at) }) : t("alerts.unacknowledged")), el("td", {}, alertActions(a, soon))),
        ),
        "site.no_alerts",
      ),
    );
    timeline.replaceChildren(table(["timeline.time", "timeline.what", "timeline.device", "timeline.details"], data.timeline.map(timelineRow), "site.no_timeline"));
  }

  const soon = debounce(() => guarded(refresh), 100);
  onChange((changes) => {
    if (changes.some((c) => c.what === "resync" || (c.city === city && c.site === site))) soon();
  });
  setInterval(soon, SAFETY_REFRESH_MS);
  await guarded(refresh);
}
