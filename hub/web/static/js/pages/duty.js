// The duty desk's check-in (rule O3) on the overview: last check-in, when the next is due (a countdown),
// and — for a city duty officer — the button that confirms the desk is staffed.
import { currentUser, get, may, post } from "../api.js";
import { el } from "../dom.js";
import { cityName, formatTime, t } from "../i18n.js";
import { guarded } from "../problem.js";

const TICK_MS = 1000;

function countdown(dueAt, now) {
  const left = Math.round((new Date(dueAt).getTime() - now) / 1000);
  const abs = Math.abs(left);
  const mmss = `${Math.floor(abs / 60)}:${String(abs % 60).padStart(2, "0")}`;
  return left >= 0 ? t("duty.due_in", { time: mmss }) : t("duty.overdue", { time: mmss });
}

function deskRow(desk) {
  const due = desk.due_at ? el("span", { class: "duty-countdown", dataset: { due: desk.due_at } }) : null;
  return el(
    "div",
    { class: `duty-desk${desk.missed ? " missed" : ""}`, dataset: { city: desk.city } },
    el("strong", {}, cityName(desk.city)),
    el("span", { class: "duty-last" }, t("duty.last", { time: formatTime(desk.last_check_in) })),
    desk.on_duty
      ? el("span", { class: "duty-next" }, t("duty.next", { time: formatTime(desk.due_at) }), " ", due)
      : el("span", { class: "muted" }, t("duty.off_duty")),
    desk.missed ? el("span", { class: "badge s-fault" }, t("duty.missed")) : null,
  );
}

function tickCountdowns(root) {
  const now = Date.now();
  for (const node of root.querySelectorAll(".duty-countdown")) node.textContent = countdown(node.dataset.due, now);
}

// The panel element; it refreshes itself on `refresh()` and keeps its countdowns running.
export function dutyPanel() {
  const me = currentUser();
  const canCheckIn = Boolean(me?.city) && may("act_on_alerts");
  const desks = el("div", { class: "duty-desks" });
  const button = canCheckIn
    ? el("button", { type: "button", id: "duty-check-in", class: "primary" }, t("duty.check_in"))
    : null;
  const panel = el("section", { id: "duty", class: "duty" }, el("h2", {}, t("duty.title")), desks, button);

  async function refresh() {
    const data = await get("/api/v1/duty");
    desks.replaceChildren(...(data.desks.length ? data.desks.map(deskRow) : [el("p", { class: "muted" }, t("duty.none"))]));
    tickCountdowns(desks);
  }

  if (button) {
    button.addEventListener("click", async () => {
      button.disabled = true;
      await guarded(async () => {
        await post("/api/v1/duty/check-in", {});
        await refresh();
      });
      button.disabled = false;
    });
  }
  setInterval(() => tickCountdowns(desks), TICK_MS);
  return { panel, refresh };
}
