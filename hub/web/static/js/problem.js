import { t, tOr } from "./i18n.js";

// A failed request, in the person's language: a 503 means the hub answers but its database does not.
export function problemText(error) {
  if (error?.status === 503) return t("error.database");
  if (error?.code) return tOr(`error.${error.code}`, t("error.request"));
  return t("error.connection");
}

export function showProblem(error) {
  const banner = document.getElementById("banner");
  if (error === null) {
    if (banner.dataset.kind === "request") banner.hidden = true;
    return;
  }
  banner.textContent = problemText(error);
  banner.dataset.kind = "request";
  banner.hidden = false;
}

// Run a page's refresh, showing (and clearing) a problem banner.  body[data-refreshes] counts the
// refreshes done, so a test (or a person with dev tools) can tell when the page has caught up.
export async function guarded(fn) {
  try {
    await fn();
    document.body.dataset.refreshes = String(Number(document.body.dataset.refreshes ?? 0) + 1);
    showProblem(null);
  } catch (error) {
    console.warn(error);
    showProblem(error);
  }
}
