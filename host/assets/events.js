// Live updates: reads `GET /v1/events` (server-sent events) with fetch and a
// stream reader, since EventSource cannot send the bearer token, parses the
// SSE framing itself and hands each log entry to the current view. On a
// dropped stream it reconnects after the last id it saw. While the stream
// is down, views get a periodic `tick` instead, so pages still refresh.

import { askForToken, authHeaders, token } from "./api.js";

const listeners = new Set();
let lastId = null;
let connected = false;
let tick = null;

/// Calls `fn(entry)` for every log entry (`{seq, at_ms, case, type, …}`)
/// and `fn({type: "tick"})` periodically while the stream is down; returns
/// the unsubscribe function.
export function subscribe(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function emit(entry) {
  for (const fn of [...listeners]) {
    try {
      fn(entry);
    } catch (err) {
      console.error("event listener failed", err);
    }
  }
}

function setState(on, why) {
  connected = on;
  const el = document.getElementById("live");
  el.classList.toggle("off", !on);
  el.title = on ? "Live updates: connected" : `Live updates: ${why}`;
  if (on && tick) {
    clearInterval(tick);
    tick = null;
  } else if (!on && !tick) {
    tick = setInterval(() => emit({ type: "tick" }), 5000);
  }
}

export function isLive() {
  return connected;
}

/// Parses SSE text: calls `dispatch(id, event, data)` per complete message,
/// returns what is left over (an incomplete message).
export function parseSse(buffer, dispatch) {
  const blocks = buffer.split(/\r?\n\r?\n/);
  const rest = blocks.pop();
  for (const block of blocks) {
    let id = null;
    let event = "message";
    const data = [];
    for (const line of block.split(/\r?\n/)) {
      if (!line || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const name = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (name === "id") id = value;
      else if (name === "event") event = value;
      else if (name === "data") data.push(value);
    }
    if (data.length) dispatch(id, event, data.join("\n"));
    else if (id !== null) dispatch(id, event, null);
  }
  return rest;
}

async function readOnce() {
  const headers = authHeaders({ Accept: "text/event-stream" });
  if (lastId !== null) headers["Last-Event-ID"] = lastId;
  const response = await fetch("/v1/events", { headers, cache: "no-store" });
  if (response.status === 401) {
    setState(false, "waiting for the token");
    await askForToken(Boolean(token()));
    return 0;
  }
  if (!response.ok || !response.body) {
    setState(false, `the server answered ${response.status}`);
    return response.status === 404 || response.status === 405 ? 30000 : 5000;
  }
  setState(true);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer = parseSse(buffer + value, (id, type, data) => {
      if (id !== null) lastId = id;
      if (data === null) return;
      let entry;
      try {
        entry = JSON.parse(data);
      } catch {
        return;
      }
      if (entry && typeof entry === "object") {
        entry.type ??= type;
        emit(entry);
      }
    });
  }
  setState(false, "reconnecting");
  return 1000;
}

/// Keeps one stream open for the life of the page.
export async function start() {
  setState(false, "connecting");
  let backoff = 1000;
  for (;;) {
    let wait;
    try {
      wait = await readOnce();
      backoff = 1000;
    } catch {
      setState(false, "reconnecting");
      wait = backoff;
      backoff = Math.min(backoff * 2, 15000);
    }
    if (wait) await new Promise((r) => setTimeout(r, wait));
  }
}
