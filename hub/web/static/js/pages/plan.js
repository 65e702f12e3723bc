// Exam calendar (sessions, custody, arrival reports) and the go / no-go board, with the duty desk's two
// actions: report the papers' arrival at a site, and run a site's go / no-go now.
import { get, may, post } from "../api.js";
import { el, table } from "../dom.js";
import { cityName, formatTime, t } from "../i18n.js";
import { debounce, onChange } from "../live.js";
import { guarded, problemText } from "../problem.js";

const SAFETY_REFRESH_MS = 30000;

function siteLink(siteId) {
  const [city, site] = siteId.split("/");
  return el("a", { href: `/sites/${city}/${site}` }, `${cityName(city)} · ${site}`);
}

// A button that runs `action`, shows its problem beside it, and refreshes the page when it worked.
function actionButton(labelKey, action, done) {
  const error = el("span", { class: "error", role: "alert" });
  const button = el("button", { type: "button", class: "primary" }, t(labelKey));
  button.addEventListener("click", async () => {
    button.disabled = true;
    error.textContent = "";
    try {
      await action();
      done();
    } catch (failure) {
      error.textContent = problemText(failure);
    } finally {
      button.disabled = false;
    }
  });
  return el("span", { class: "actions" }, button, error);
}

function sessionRow(s) {
  return el(
    "tr",
    { dataset: { session: s.id } },
    el("td", { class: "time" }, formatTime(s.checkin_start)),
    el("td", { class: "time" }, formatTime(s.start)),
    el("td", { class: "time" }, formatTime(s.end)),
    el("td", {}, s.paper, el("div", { class: "muted small" }, s.id)),
    el("td", {}, s.sites.map((site) => el("div", {}, siteLink(site)))),
    el("td", { class: "small" }, s.rooms.join(", ")),
  );
}

function custodyRows(data, done) {
  const arrivals = new Map();
  for (const a of data.arrivals) if (!arrivals.has(a.site_id)) arrivals.set(a.site_id, a);
  return data.custody.flatMap((c) =>
    c.sites.map((siteId) => {
      const arrival = arrivals.get(siteId);
      const [city, site] = siteId.split("/");
      const reported = arrival
        ? el("span", {}, t("calendar.arrived", { time: formatTime(arrival.arrived_at), by: arrival.reported_by }))
        : el("span", { class: "badge s-warning" }, t("calendar.not_reported"));
      const report = may("act_on_alerts") && !arrival
        ? actionButton("calendar.report_arrival", () => post(`/api/v1/sites/${city}/${site}/arrival`, {}), done)
        : null;
      return el(
        "tr",
        { dataset: { site: siteId } },
        el("td", {}, siteLink(siteId)),
        el("td", { class: "time" }, formatTime(c.collection)),
        el("td", { class: "time" }, formatTime(c.arrival_due)),
        el("td", { class: "time" }, formatTime(c.returned)),
        el("td", {}, reported, report),
      );
    }),
  );
}

export async function showCalendar() {
  const main = document.getElementById("main");
  async function refresh() {
    const data = await get("/api/v1/calendar");
    const info = data.version === null
      ? el("p", { class: "muted" }, t("calendar.none"))
      : el("p", { class: "muted" }, t("calendar.version", { version: data.version, time: formatTime(data.imported_at), source: data.source }));
    main.replaceChildren(
      el("h1", {}, t("page.calendar")),
      info,
      el("h2", {}, t("calendar.sessions")),
      table(["calendar.checkin", "calendar.start", "calendar.end", "calendar.paper", "calendar.sites", "calendar.rooms"], data.sessions.map(sessionRow), "calendar.empty"),
      el("h2", {}, t("calendar.custody")),
      table(["calendar.site", "calendar.collection", "calendar.arrival_due", "calendar.return", "calendar.arrival"], custodyRows(data, soon), "calendar.no_custody"),
    );
  }
  const soon = debounce(() => guarded(refresh), 100);
  setInterval(soon, SAFETY_REFRESH_MS);
  await guarded(refresh);
}

function verdictBadge(verdict) {
  const status = verdict === "go" ? "ok" : verdict === "no_go" ? "fault" : "unknown";
  return el("span", { class: `badge s-${status}`, dataset: { verdict } }, t(`gonogo.${verdict}`));
}

function boardRow(s, done) {
  const run = may("act_on_alerts")
    ? actionButton("gonogo.run", () => post(`/api/v1/gonogo/${s.city}/${s.site}/run`, {}), done)
    : null;
  const when = s.evaluated_at
    ? el("div", {}, formatTime(s.evaluated_at), el("div", { class: "muted small" }, s.trigger === "demand" ? t("gonogo.by", { by: s.requested_by ?? "" }) : t("gonogo.scheduled")))
    : el("span", { class: "muted" }, "—");
  return el(
    "tr",
    { dataset: { site: s.site_id } },
    el("td", {}, siteLink(s.site_id)),
    el("td", {}, s.session ?? "—", el("div", { class: "muted small" }, s.session_start ? formatTime(s.session_start) : "")),
    el("td", {}, verdictBadge(s.verdict)),
    el("td", {}, s.reasons.length ? el("ul", { class: "reasons" }, s.reasons.map((r) => el("li", {}, r))) : null),
    el("td", {}, when),
    el("td", {}, run),
  );
}

export async function showGoNoGo() {
  const main = document.getElementById("main");
  async function refresh() {
    const data = await get("/api/v1/gonogo");
    main.replaceChildren(
      el("h1", {}, t("page.gonogo")),
      table(["gonogo.site", "gonogo.session", "gonogo.verdict", "gonogo.reasons", "gonogo.evaluated", ""], data.sites.map((s) => boardRow(s, soon)), "gonogo.empty"),
    );
  }
  const soon = debounce(() => guarded(refresh), 100);
  onChange((changes) => {
    if (changes.some((c) => c.what === "alert" || c.what === "resync")) soon();
  });
  setInterval(soon, SAFETY_REFRESH_MS);
  await guarded(refresh);
}
