// The JSON API: every request sends the session cookie; every POST sends JSON and the CSRF token.
const TIMEOUT_MS = 8000;
let me = null;

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.detail ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.detail ?? "request.failed";
    this.body = body ?? {};
  }
}

async function call(method, path, body) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
  const headers = { Accept: "application/json" };
  if (method !== "GET") {
    headers["Content-Type"] = "application/json";
    if (me) headers["X-CSRF-Token"] = me.csrf_token;
  }
  try {
    const response = await fetch(path, {
      method,
      headers,
      body: method === "GET" ? undefined : JSON.stringify(body ?? {}),
      cache: "no-store",
      credentials: "same-origin",
      signal: controller.signal,
    });
    const text = await response.text();
    const data = text ? JSON.parse(text) : null;
    if (response.status === 401 && !path.endsWith("/session")) {
      goSignIn();
    }
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  } finally {
    clearTimeout(timer);
  }
}

export function goSignIn() {
  const next = encodeURIComponent(location.pathname);
  location.assign(`/sign-in?next=${next}`);
}

export const get = (path) => call("GET", path);
export const post = (path, body) => call("POST", path, body);

export async function loadMe() {
  me = await get("/api/v1/me");
  return me;
}

export function currentUser() {
  return me;
}

export function may(permission) {
  return Boolean(me?.permissions?.includes(permission));
}
