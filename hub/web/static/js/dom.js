import { t, tOr } from "./i18n.js";

// Builds elements with textContent only, so nothing from the wire is ever parsed as HTML.
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === "") continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export const STATUS_ORDER = ["ok", "unknown", "warning", "fault", "offline"];

export function statusLabel(status) {
  return tOr(`status.${status}`, status);
}

export function statusBadge(status) {
  return el("span", { class: `badge s-${status}`, dataset: { status } }, statusLabel(status));
}

export function statusDot(status) {
  return el("span", { class: `dot s-${status}`, title: statusLabel(status), "aria-hidden": "true" });
}

export function legend() {
  return el("div", { class: "legend" }, STATUS_ORDER.map((s) => el("span", {}, statusDot(s), statusLabel(s))));
}

export function emptyRow(columns, key) {
  return el("tr", { class: "empty" }, el("td", { colspan: String(columns) }, t(key)));
}

export function table(headKeys, rows, emptyKey) {
  return el(
    "table",
    { class: "grid" },
    el("thead", {}, el("tr", {}, headKeys.map((k) => el("th", {}, t(k))))),
    el("tbody", {}, rows.length ? rows : [emptyRow(headKeys.length, emptyKey)]),
  );
}
