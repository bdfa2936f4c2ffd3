// The API client: one bearer token per tab (sessionStorage), sent on every
// call; a 401 asks for it again and retries.

const KEY = "petrel.token";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let asking = null;

export function token() {
  return sessionStorage.getItem(KEY);
}

export function forgetToken() {
  sessionStorage.removeItem(KEY);
  document.getElementById("forget-token").hidden = true;
}

/// Shows the token form; resolves once a token was entered. Concurrent
/// callers share one prompt.
export function askForToken(rejected) {
  if (asking) return asking;
  const overlay = document.getElementById("login");
  const form = document.getElementById("login-form");
  const input = document.getElementById("login-token");
  const error = document.getElementById("login-error");
  error.hidden = !rejected;
  error.textContent = rejected ? "The server refused that token." : "";
  overlay.hidden = false;
  input.value = "";
  input.focus();
  asking = new Promise((resolve) => {
    const submit = (event) => {
      event.preventDefault();
      const value = input.value.trim();
      if (!value) return;
      sessionStorage.setItem(KEY, value);
      document.getElementById("forget-token").hidden = false;
      overlay.hidden = true;
      form.removeEventListener("submit", submit);
      asking = null;
      resolve();
    };
    form.addEventListener("submit", submit);
  });
  return asking;
}

/// Headers with the token, if one is kept.
export function authHeaders(extra = {}) {
  const t = token();
  return t ? { ...extra, Authorization: `Bearer ${t}` } : { ...extra };
}

/// Calls the API: the parsed JSON body (text when not JSON, null for 204),
/// or throws an ApiError with the server's code and message.
export async function api(method, path, body) {
  for (;;) {
    const init = { method, headers: authHeaders(), cache: "no-store" };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    if (response.status === 401) {
      await askForToken(Boolean(token()));
      continue;
    }
    if (response.status === 204) return null;
    const text = await response.text();
    let data = text;
    if ((response.headers.get("content-type") ?? "").includes("json")) {
      try {
        data = JSON.parse(text);
      } catch {
        data = text;
      }
    }
    if (!response.ok) {
      const e = data?.error;
      throw new ApiError(response.status, e?.code ?? `http_${response.status}`, e?.message ?? (text || response.statusText));
    }
    return data;
  }
}

export const get = (path) => api("GET", path);
export const post = (path, body = {}) => api("POST", path, body);

/// `?a=1&b=2` from an object, leaving out empty values.
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

/// Whether an error means the server does not offer this endpoint yet.
export function missing(err) {
  return err instanceof ApiError && (err.code === "no_route" || err.code === "method_not_allowed");
}

export const enc = encodeURIComponent;
