// Users (administrators): add, disable / enable, set a new password.
import { currentUser, get, post } from "../api.js";
import { el, table } from "../dom.js";
import { cityName, formatTime, t } from "../i18n.js";
import { guarded, problemText } from "../problem.js";

const ROLES = ["city", "provincial", "admin"];

function field(labelKey, input) {
  return el("label", {}, el("span", {}, t(labelKey)), input);
}

export async function showUsers() {
  const main = document.getElementById("main");
  const list = el("div", {});
  const error = el("div", { class: "error", role: "alert" });
  const form = el(
    "form",
    { class: "card new-user" },
    el("h2", {}, t("users.add")),
    field("users.username", el("input", { name: "username", required: true, autocomplete: "off" })),
    field("users.display_name", el("input", { name: "display_name", autocomplete: "off" })),
    field("users.role", el("select", { name: "role" }, ROLES.map((r) => el("option", { value: r }, t(`role.${r}`))))),
    field("users.city", el("input", { name: "city", autocomplete: "off", placeholder: "jinan" })),
    field("users.password", el("input", { name: "password", type: "password", required: true, autocomplete: "new-password" })),
    el("button", { type: "submit", class: "primary" }, t("users.add_confirm")),
    error,
  );
  main.replaceChildren(el("h1", {}, t("page.users")), list, form);

  async function act(path, body) {
    error.textContent = "";
    try {
      await post(path, body);
      await guarded(refresh);
    } catch (failure) {
      error.textContent = problemText(failure);
    }
  }

  function row(u) {
    const self = currentUser()?.user_id === u.id;
    const actions = self
      ? []
      : [
          el("button", { type: "button", onclick: () => act(`/api/v1/users/${u.id}/${u.disabled ? "enable" : "disable"}`, {}) }, t(u.disabled ? "users.enable" : "users.disable")),
          el("button", {
            type: "button",
            onclick: () => {
              const password = window.prompt(t("users.new_password_prompt", { user: u.username }));
              if (password) act(`/api/v1/users/${u.id}/password`, { password });
            },
          }, t("users.reset_password")),
        ];
    return el(
      "tr",
      { class: u.disabled ? "disabled" : "", dataset: { user: u.username } },
      el("td", {}, u.username),
      el("td", {}, u.display_name),
      el("td", {}, t(`role.${u.role}`)),
      el("td", {}, u.city ? cityName(u.city) : "—"),
      el("td", {}, u.disabled ? t("users.disabled") : t("users.enabled")),
      el("td", {}, formatTime(u.created_at)),
      el("td", {}, actions),
    );
  }

  async function refresh() {
    const data = await get("/api/v1/users");
    list.replaceChildren(table(["users.username", "users.display_name", "users.role", "users.city", "users.state", "users.created", ""], data.users.map(row), "users.empty"));
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    if (data.role !== "city") data.city = null;
    await act("/api/v1/users", data);
    if (!error.textContent) form.reset();
  });
  await guarded(refresh);
}
