// Sign-in: the only page without a session.
import { post } from "../api.js";
import { el } from "../dom.js";
import { t } from "../i18n.js";
import { problemText } from "../problem.js";

function safeNext() {
  const next = new URLSearchParams(location.search).get("next") ?? "/";
  // Only a path on this site: never send the person elsewhere after signing in.
  return next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

export function showSignIn() {
  const main = document.getElementById("main");
  const error = el("div", { class: "error", role: "alert", id: "sign-in-error" });
  const username = el("input", { name: "username", id: "username", required: true, autocomplete: "username", autofocus: true });
  const password = el("input", { name: "password", id: "password", type: "password", required: true, autocomplete: "current-password" });
  const submit = el("button", { type: "submit", class: "primary", id: "sign-in" }, t("sign_in.submit"));
  const form = el(
    "form",
    { class: "card sign-in" },
    el("h1", {}, t("sign_in.title")),
    el("label", { for: "username" }, t("sign_in.username")),
    username,
    el("label", { for: "password" }, t("sign_in.password")),
    password,
    submit,
    error,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    submit.disabled = true;
    try {
      await post("/api/v1/session", { username: username.value, password: password.value });
      location.assign(safeNext());
    } catch (failure) {
      error.textContent = failure.code === "sign_in.limited" ? t("error.sign_in.limited", { s: Math.ceil(failure.body.retry_after_s ?? 60) }) : problemText(failure);
      password.value = "";
      submit.disabled = false;
    }
  });
  main.replaceChildren(form);
}
