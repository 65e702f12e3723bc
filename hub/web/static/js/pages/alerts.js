// Alerts: filter, acknowledge with a comment, silence.
import { get, may, post } from "../api.js";
import { el, table } from "../dom.js";
import { cityName, formatTime, t, tOr } from "../i18n.js";
import { debounce, onChange } from "../live.js";
import { guarded, problemText } from "../problem.js";

// The alert's own wording in the person's language, where the catalogue has one for its kind.
function alertText(a) {
  const key = `alert_text.${a.kind}`;
  return tOr(key, null) === null ? null : el("div", { class: "alert-text" }, t(key, a.details ?? {}));
}

// Why a closed alert closed, when that was not its condition clearing (details.closed_because).
function closedBecause(a) {
  const why = a.details?.closed_because;
  if (a.open || !why) return null;
  const key = `alert_closed.${why}`;
  const params = { ...a.details, missed_since: formatTime(a.details.missed_since) };
  return el("div", { class: "alert-closed muted", dataset: { closedBecause: why } }, tOr(key, null) === null ? why : t(key, params));
}

const SILENCE_MINUTES = [15, 30, 60, 120, 240];
// Forms being filled in: a live refresh must not redraw the table under someone typing a comment.
let openForms = 0;

export function editing() {
  return openForms > 0;
}

// Redraw later if someone is typing; true when the caller may redraw now.
export function mayRedraw(retry) {
  if (!editing()) return true;
  setTimeout(retry, 500);
  return false;
}
const SAFETY_REFRESH_MS = 30000;

// The acknowledge / silence controls of one alert; `done` runs after a change was recorded.
export function alertActions(alert, done) {
  if (!may("act_on_alerts")) return el("span", {});
  const box = el("div", { class: "actions" });
  const error = el("div", { class: "error", role: "alert" });

  function form(kind) {
    const comment = el("textarea", { name: "comment", rows: "2", maxlength: "1000", placeholder: t(`alerts.${kind}_comment`), "aria-label": t(`alerts.${kind}_comment`) });
    const minutes = el("select", { name: "minutes", "aria-label": t("alerts.silence_for") }, SILENCE_MINUTES.map((m) => el("option", { value: String(m) }, t("alerts.minutes", { n: m }))));
    const submit = el("button", { type: "submit", class: "primary" }, t(`alerts.${kind}_confirm`));
    const cancel = el("button", {
      type: "button",
      onclick: () => {
        openForms -= 1;
        box.replaceChildren(...buttons());
      },
    }, t("common.cancel"));
    const node = el("form", { class: `inline ${kind}` }, comment, kind === "silence" ? minutes : null, submit, cancel, error);
    node.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.textContent = "";
      if (kind === "ack" && !comment.value.trim()) {
        error.textContent = t("error.alert.comment_required");
        return;
      }
      submit.disabled = true;
      try {
        const path = `/api/v1/alerts/${alert.id}/${kind === "ack" ? "acknowledge" : "silence"}`;
        const body = kind === "ack" ? { comment: comment.value } : { minutes: Number(minutes.value), comment: comment.value };
        await post(path, body);
        openForms -= 1;
        done();
      } catch (failure) {
        error.textContent = problemText(failure);
        submit.disabled = false;
      }
    });
    return node;
  }

  function buttons() {
    const out = [];
    const open = (kind) => {
      if (!box.isConnected) return; // redrawn under the click: the new row has its own buttons
      openForms += 1;
      box.replaceChildren(form(kind));
    };
    if (!alert.acknowledged_at) out.push(el("button", { type: "button", class: "ack", onclick: () => open("ack") }, t("alerts.ack")));
    out.push(el("button", { type: "button", class: "silence", onclick: () => open("silence") }, t("alerts.silence")));
    return out;
  }

  box.replaceChildren(...buttons());
  return box;
}

function select(name, options, labelKey) {
  return el("label", {}, t(labelKey), " ", el("select", { name }, options.map(([value, key]) => el("option", { value }, t(key)))));
}

function alertRow(a, done) {
  const ack = a.acknowledged_at
    ? el("div", { class: "ack-info" }, t("alerts.acknowledged_by", { by: a.acknowledged_by, time: formatTime(a.acknowledged_at) }), el("div", { class: "comment" }, a.ack_comment))
    : el("span", { class: "badge s-warning" }, t("alerts.unacknowledged"));
  const silenced = a.silenced_until && new Date(a.silenced_until) > new Date() ? el("div", { class: "muted" }, t("alerts.silenced_until", { time: formatTime(a.silenced_until), by: a.silenced_by })) : null;
  return el(
    "tr",
    { class: `sev-${a.severity}${a.open ? "" : " closed"}`, dataset: { alert: String(a.id) } },
    el("td", { class: "time" }, formatTime(a.opened_at)),
    el("td", {}, el("a", { href: `/sites/${a.city}/${a.site}` }, `${cityName(a.city)} · ${a.site}`)),
    el("td", {}, tOr(`alert_kind.${a.kind}`, a.kind), alertText(a), closedBecause(a), el("div", { class: "muted small" }, a.device_id ?? a.agent_id)),
    el("td", {}, el("span", { class: `badge sev-${a.severity}` }, t(`severity.${a.severity}`))),
    el("td", {}, a.open ? t("alerts.open") : t("alerts.closed_at", { time: formatTime(a.closed_at) })),
    el("td", {}, ack, silenced),
    el("td", {}, alertActions(a, done)),
  );
}

export async function showAlerts() {
  const main = document.getElementById("main");
  const filters = el(
    "form",
    { class: "filters" },
    select("state", [["open", "alerts.filter.open"], ["closed", "alerts.filter.closed"], ["all", "alerts.filter.all"]], "alerts.filter.state"),
    select("severity", [["", "alerts.filter.any"], ["critical", "severity.critical"], ["warning", "severity.warning"], ["info", "severity.info"]], "alerts.filter.severity"),
    select("acknowledged", [["", "alerts.filter.any"], ["false", "alerts.unacknowledged"], ["true", "alerts.filter.acknowledged"]], "alerts.filter.acknowledged"),
  );
  const list = el("div", { id: "alert-list" });
  main.replaceChildren(el("div", { class: "page-head" }, el("h1", {}, t("page.alerts")), el("span", { id: "count", class: "muted" })), filters, list);

  async function refresh() {
    if (!mayRedraw(soon)) return;
    const params = new URLSearchParams();
    for (const [key, value] of new FormData(filters)) if (value) params.set(key, value);
    const data = await get(`/api/v1/alerts?${params}`);
    document.getElementById("count").textContent = t("alerts.count", { n: data.alerts.length });
    list.replaceChildren(
      table(["alerts.opened", "alerts.site", "alerts.kind", "alerts.severity", "alerts.state", "alerts.ack_column", ""], data.alerts.map((a) => alertRow(a, soon)), "alerts.empty"),
    );
  }

  const soon = debounce(() => guarded(refresh), 100);
  filters.addEventListener("change", soon);
  onChange((changes) => {
    if (changes.some((c) => c.what === "alert" || c.what === "resync")) soon();
  });
  setInterval(soon, SAFETY_REFRESH_MS);
  await guarded(refresh);
}
