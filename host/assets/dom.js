// Building the page safely: every string from the server becomes a text
// node (never HTML), so payloads, log lines and model answers cannot inject
// markup. `h("a", { href: "#/x", class: "link" }, "text", child)`.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "class") {
      el.className = value;
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else if (key === "value") {
      el.value = value;
    } else if (key === "checked" || key === "selected" || key === "disabled") {
      el[key] = Boolean(value);
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/// Replaces the children of `el`.
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

const pad = (n, w = 2) => String(n).padStart(w, "0");

/// `2026-12-05 07:01:02` in the browser's time zone.
export function time(ms) {
  if (ms === undefined || ms === null) return "—";
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/// `07:01:02.345`.
export function clock(ms) {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/// `3 min ago`, `in 12 s`.
export function ago(ms, now = Date.now()) {
  const s = Math.round((now - ms) / 1000);
  const abs = Math.abs(s);
  const text =
    abs < 60 ? `${abs} s` : abs < 3600 ? `${Math.round(abs / 60)} min` : abs < 86400 ? `${Math.round(abs / 3600)} h` : `${Math.round(abs / 86400)} d`;
  return s >= 0 ? `${text} ago` : `in ${text}`;
}

/// A timestamp cell: absolute time, relative time as a tooltip.
export function when(ms) {
  if (ms === undefined || ms === null) return h("span", { class: "muted" }, "—");
  return h("time", { datetime: new Date(ms).toISOString(), title: ago(ms) }, time(ms));
}

/// `1.2 s`, `340 ms`.
export function duration(ms) {
  return ms >= 1000 ? `${(ms / 1000).toFixed(ms >= 10000 ? 0 : 1)} s` : `${Math.round(ms)} ms`;
}

export function badge(status) {
  return h("span", { class: `badge s-${String(status).replace(/[^a-z_]/g, "")}` }, String(status).replace(/_/g, " "));
}

/// A short version hash.
export function short(version) {
  return String(version ?? "").slice(0, 16);
}

/// A JSON value as indented text.
export function json(value) {
  return h("pre", { class: "json" }, JSON.stringify(value, null, 2));
}

/// A one-line summary of a JSON value, cut at `max` characters.
export function inline(value, max = 120) {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function table(columns, rows, attrs = {}) {
  return h(
    "table",
    { class: "grid", ...attrs },
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", {}, c)))),
    h("tbody", {}, rows),
  );
}

export function empty(text) {
  return h("div", { class: "empty" }, text);
}

export function errorBox(err) {
  const code = err?.code ? `${err.code}: ` : "";
  return h("div", { class: "error-box", role: "alert" }, `${code}${err?.message ?? err}`);
}

export function toast(text, kind = "ok") {
  const box = document.getElementById("toasts");
  const el = h("div", { class: `toast ${kind}`, role: "status" }, text);
  box.append(el);
  setTimeout(() => el.remove(), kind === "error" ? 8000 : 4000);
}

/// Calls `fn` at most once per `ms`, the last call always running.
export function throttle(fn, ms) {
  let timer = null;
  let last = 0;
  let pending = false;
  const run = () => {
    timer = null;
    pending = false;
    last = Date.now();
    fn();
  };
  return () => {
    if (pending) return;
    pending = true;
    const wait = Math.max(0, last + ms - Date.now());
    timer = setTimeout(run, wait);
  };
}

/// A labelled group of controls in a toolbar.
export function field(label, control) {
  return h("label", { class: "field" }, h("span", {}, label), control);
}

/// A button that shows it is busy while `action` runs and reports errors.
export function action(label, attrs, run) {
  const button = h("button", { type: "button", ...attrs }, label);
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await run(button);
    } catch (err) {
      toast(err.message ?? String(err), "error");
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

/// Navigates to `path` with `params` as the hash's query.
export function go(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  const s = q.toString();
  location.hash = `#${path}${s ? `?${s}` : ""}`;
}
