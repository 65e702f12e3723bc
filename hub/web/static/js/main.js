// One script for every page: load the catalogue, check the session, draw the frame, run the page.
import { LANGUAGES, cityName, currentLanguage, formatClock, loadCatalogue, setLanguage, t, translateShell } from "./i18n.js";
import { ApiError, loadMe, may, post } from "./api.js";
import { el } from "./dom.js";
import { startLive } from "./live.js";
import { showOverview } from "./pages/overview.js";
import { showSite } from "./pages/site.js";
import { showAlerts } from "./pages/alerts.js";
import { showCalendar, showGoNoGo } from "./pages/plan.js";
import { showUsers } from "./pages/users.js";
import { showAudit } from "./pages/audit.js";
import { showSignIn } from "./pages/signin.js";

const NAV = [
  { page: "overview", href: "/", key: "nav.overview", permission: "read_sites" },
  { page: "wall", href: "/wall", key: "nav.wall", permission: "read_sites" },
  { page: "alerts", href: "/alerts", key: "nav.alerts", permission: "read_sites" },
  { page: "calendar", href: "/calendar", key: "nav.calendar", permission: "read_sites" },
  { page: "gonogo", href: "/gonogo", key: "nav.gonogo", permission: "read_sites" },
  { page: "users", href: "/users", key: "nav.users", permission: "manage_users" },
  { page: "audit", href: "/audit", key: "nav.audit", permission: "read_audit" },
];

const PAGES = {
  overview: () => showOverview(false),
  wall: () => showOverview(true),
  site: () => showSite(document.body.dataset.city, document.body.dataset.site),
  alerts: showAlerts,
  calendar: showCalendar,
  gonogo: showGoNoGo,
  users: showUsers,
  audit: showAudit,
};

function languagePicker() {
  const select = document.getElementById("lang");
  select.replaceChildren(...LANGUAGES.map((lang) => el("option", { value: lang, selected: lang === currentLanguage() }, t(`lang.${lang}`))));
  select.setAttribute("aria-label", t("nav.language"));
  select.addEventListener("change", () => {
    setLanguage(select.value);
    location.reload();
  });
}

function frame(me, page) {
  const nav = document.getElementById("nav");
  nav.replaceChildren(
    ...NAV.filter((item) => may(item.permission)).map((item) =>
      el("a", { href: item.href, class: item.page === page ? "active" : "", "aria-current": item.page === page ? "page" : null }, t(item.key)),
    ),
  );
  const scope = me.city ? t("who.city", { city: cityName(me.city) }) : t(`role.${me.role}`);
  document.getElementById("who").textContent = `${me.display_name || me.username} · ${scope}`;
  const signOut = document.getElementById("sign-out");
  signOut.hidden = false;
  signOut.addEventListener("click", async () => {
    try {
      await post("/api/v1/session/sign-out", {});
    } finally {
      location.assign("/sign-in");
    }
  });
  const clock = document.getElementById("clock");
  const tick = () => (clock.textContent = t("clock.beijing", { time: formatClock(new Date()) }));
  tick();
  setInterval(tick, 1000);
}

async function main() {
  const page = document.body.dataset.page;
  await loadCatalogue(currentLanguage());
  translateShell();
  languagePicker();
  if (page === "sign_in") {
    showSignIn();
    return;
  }
  if (page === "forbidden" || page === "not_found") {
    document.getElementById("main").replaceChildren(el("p", { class: "empty" }, t(`page.${page}.text`)));
    return;
  }
  let me;
  try {
    me = await loadMe();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return; // api.js is taking us to sign-in
    throw error;
  }
  frame(me, page);
  document.body.classList.toggle("wall-mode", page === "wall");
  const show = PAGES[page];
  if (show) await show();
  startLive();
}

main().catch((error) => {
  console.error(error);
  const banner = document.getElementById("banner");
  banner.textContent = t("error.page");
  banner.hidden = false;
});
