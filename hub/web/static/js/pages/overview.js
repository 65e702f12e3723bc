// Province overview (cities → sites, one colour each) and its wall-screen mode.
import { get } from "../api.js";
import { el, legend, statusBadge, statusDot } from "../dom.js";
import { cityName, formatTime, t } from "../i18n.js";
import { debounce, onChange } from "../live.js";
import { guarded } from "../problem.js";
import { dutyPanel } from "./duty.js";

const SAFETY_REFRESH_MS = 60000;

function siteTile(site, wall) {
  const alerts = site.open_alerts > 0 ? el("span", { class: "count", title: t("overview.open_alerts_title") }, String(site.open_alerts)) : null;
  return el(
    "a",
    {
      class: `tile s-${site.status}${site.unacknowledged_alerts > 0 ? " attention" : ""}`,
      href: `/sites/${site.city}/${site.site}`,
      title: `${cityName(site.city)} ${site.site} — ${t(`status.${site.status}`)}`,
      dataset: { site: site.site_id, status: site.status },
    },
    el("span", { class: "name" }, site.site),
    alerts,
    wall ? null : el("span", { class: "sub" }, t("overview.devices", { n: site.devices })),
  );
}

function cityBlock(city, wall) {
  const counts = {};
  for (const site of city.sites) counts[site.status] = (counts[site.status] ?? 0) + 1;
  const summary = ["offline", "fault", "warning"]
    .filter((s) => counts[s])
    .map((s) => el("span", { class: `mini s-${s}` }, `${t(`status.${s}`)} ${counts[s]}`));
  return el(
    "section",
    { class: `city b-${city.status}`, dataset: { city: city.city } },
    el(
      "h2",
      {},
      statusDot(city.status),
      el("span", { class: "name" }, cityName(city.city)),
      city.open_alerts > 0 ? el("span", { class: "badge s-fault" }, t("overview.alerts", { n: city.open_alerts })) : null,
      wall ? null : el("span", { class: "muted" }, t("overview.sites", { n: city.sites.length })),
      ...summary,
    ),
    el("div", { class: "tiles" }, city.sites.map((s) => siteTile(s, wall))),
  );
}

// Shrink the tiles until every site fits on the screen without scrolling.
function fitWall() {
  const root = document.documentElement;
  for (let size = 120; size >= 20; size -= 4) {
    root.style.setProperty("--tile", `${size}px`);
    if (root.scrollHeight <= window.innerHeight && root.scrollWidth <= window.innerWidth) return;
  }
}

export async function showOverview(wall) {
  const main = document.getElementById("main");
  const header = el("div", { class: "page-head" }, el("h1", {}, t(wall ? "page.wall" : "page.overview")), legend(), el("span", { id: "updated", class: "muted" }));
  const body = el("div", { id: "cities", class: wall ? "cities wall" : "cities" });
  const duty = wall ? null : dutyPanel();
  main.replaceChildren(header, ...(duty ? [duty.panel] : []), body);

  async function refresh() {
    if (duty) await duty.refresh();
    const data = await get("/api/v1/overview");
    const cities = data.cities.map((c) => cityBlock(c, wall));
    body.replaceChildren(...(cities.length ? cities : [el("p", { class: "empty" }, t("overview.empty"))]));
    document.getElementById("updated").textContent = t("common.updated", { time: formatTime(data.generated_at) });
    if (wall) fitWall();
  }

  const soon = debounce(() => guarded(refresh), 100);
  onChange(soon);
  if (wall) window.addEventListener("resize", debounce(fitWall, 200));
  setInterval(soon, SAFETY_REFRESH_MS);
  await guarded(refresh);
}
