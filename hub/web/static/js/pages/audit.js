// The audit log: sign-ins, refusals and every action, newest first.
import { get } from "../api.js";
import { el, table } from "../dom.js";
import { formatTime, t, tOr } from "../i18n.js";
import { guarded } from "../problem.js";

export async function showAudit() {
  const main = document.getElementById("main");
  await guarded(async () => {
    const data = await get("/api/v1/audit?limit=500");
    const rows = data.entries.map((e) =>
      el(
        "tr",
        { class: `outcome-${e.outcome}`, dataset: { action: e.action } },
        el("td", { class: "time" }, formatTime(e.at)),
        el("td", {}, e.username || "—"),
        el("td", {}, tOr(`audit.action.${e.action}`, e.action)),
        el("td", {}, tOr(`audit.outcome.${e.outcome}`, e.outcome)),
        el("td", {}, e.target),
        el("td", { class: "muted" }, e.client),
        el("td", { class: "muted small" }, Object.entries(e.details).map(([k, v]) => `${k}: ${v}`).join(" · ")),
      ),
    );
    main.replaceChildren(el("h1", {}, t("page.audit")), table(["audit.at", "audit.user", "audit.action", "audit.outcome", "audit.target", "audit.client", "audit.details"], rows, "audit.empty"));
  });
}
