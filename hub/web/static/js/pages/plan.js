// Exam calendar and go / no-go: the API is in place; the calendar issue fills it.
import { get } from "../api.js";
import { el, table } from "../dom.js";
import { t } from "../i18n.js";
import { guarded } from "../problem.js";

export async function showCalendar() {
  const main = document.getElementById("main");
  await guarded(async () => {
    const data = await get("/api/v1/calendar");
    main.replaceChildren(el("h1", {}, t("page.calendar")), table(["calendar.start", "calendar.end", "calendar.paper", "calendar.sites"], data.sessions.map((s) => el("tr", {}, el("td", {}, String(s.start ?? "")), el("td", {}, String(s.end ?? "")), el("td", {}, String(s.paper ?? "")), el("td", {}, String(s.sites ?? "")))), "calendar.empty"));
  });
}

export async function showGoNoGo() {
  const main = document.getElementById("main");
  await guarded(async () => {
    const data = await get("/api/v1/gonogo");
    main.replaceChildren(el("h1", {}, t("page.gonogo")), table(["gonogo.site", "gonogo.verdict", "gonogo.reasons"], data.sites.map((s) => el("tr", {}, el("td", {}, String(s.site ?? "")), el("td", {}, String(s.verdict ?? "")), el("td", {}, String(s.reasons ?? "")))), "gonogo.empty"));
  });
}
