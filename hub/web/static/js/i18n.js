// Strings come from the hub's catalogues (hub/i18n/catalogues); nothing the page shows is written here.
const LANG_COOKIE = "sw_lang";
const TIME_ZONE = "Asia/Shanghai";

let catalogue = {};
let locale = "zh-CN";
let timeFormat = null;
let shortTimeFormat = null;
let numberFormat = null;

export const LANGUAGES = ["zh-CN", "en"];

export function currentLanguage() {
  return document.documentElement.lang || "zh-CN";
}

export async function loadCatalogue(lang) {
  const response = await fetch(`/api/v1/i18n/${encodeURIComponent(lang)}`, { cache: "no-store" });
  if (!response.ok) throw new Error(`catalogue ${lang}: HTTP ${response.status}`);
  catalogue = await response.json();
  locale = catalogue["_meta.locale"] || lang;
  const common = { timeZone: TIME_ZONE, hour12: false };
  timeFormat = new Intl.DateTimeFormat(locale, {
    ...common, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
  shortTimeFormat = new Intl.DateTimeFormat(locale, { ...common, hour: "2-digit", minute: "2-digit", second: "2-digit" });
  numberFormat = new Intl.NumberFormat(locale);
}

// t("alerts.count", { n: 3 }) → the catalogue's text with {n} filled in (numbers formatted for the language).
export function t(key, params = {}) {
  const template = catalogue[key] ?? key;
  return template.replace(/\{([a-z_]+)\}/g, (whole, name) => {
    if (!(name in params)) return whole;
    const value = params[name];
    return typeof value === "number" ? numberFormat.format(value) : String(value);
  });
}

// t() for a key that may not exist (a device kind, status or city the catalogue does not know).
export function tOr(key, fallback) {
  return key in catalogue ? catalogue[key] : fallback;
}

export function formatTime(iso) {
  return iso ? timeFormat.format(new Date(iso)) : "—";
}

export function formatClock(date) {
  return shortTimeFormat.format(date);
}

export function formatNumber(n) {
  return numberFormat.format(n);
}

export function cityName(slug) {
  return tOr(`city.${slug}`, slug);
}

export function setLanguage(lang) {
  document.cookie = `${LANG_COOKIE}=${encodeURIComponent(lang)}; path=/; max-age=31536000; samesite=strict`;
}

// Fill every [data-i18n] element of the static shell.
export function translateShell(root = document) {
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
}
