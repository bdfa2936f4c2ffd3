// The inbox: offers of human transitions (external transitions declared
// `human = true`) waiting for a person, oldest first.

import { enc, get, missing, query } from "./api.js";
import { ago, badge, empty, errorBox, fill, go, h, inline, table, throttle, when } from "./dom.js";

/// The lease this tab holds on a firing it claimed (kept for the tab, so
/// a reload does not lose it).
export function heldLease(firing) {
  const raw = sessionStorage.getItem(`petrel.lease.${firing}`);
  return raw ? JSON.parse(raw) : null;
}

export function holdLease(item) {
  sessionStorage.setItem(`petrel.lease.${item.firing}`, JSON.stringify({ lease: item.lease, lease_until_ms: item.lease_until_ms, worker: item.worker }));
}

export function dropLease(firing) {
  sessionStorage.removeItem(`petrel.lease.${firing}`);
}

/// Who this person is, as the claim records it (kept for the tab).
export function workerName() {
  return sessionStorage.getItem("petrel.worker") || "dashboard";
}

export function setWorkerName(name) {
  sessionStorage.setItem("petrel.worker", name);
}

export function offerState(o, now = Date.now()) {
  if (o.claimed_by && o.lease_until_ms > now) return heldLease(o.firing) ? "yours" : "claimed";
  return "open";
}

export async function inboxView(root, ctx) {
  const all = ctx.query.get("all") === "1";
  const listBox = h("div");
  const toggle = h("input", { type: "checkbox", id: "inbox-all", checked: all, onchange: (e) => go("/inbox", { all: e.target.checked ? "1" : "" }) });
  fill(
    root,
    h(
      "div",
      { class: "page-head" },
      h("h1", {}, "Inbox"),
      h("span", { class: "muted" }, "decisions waiting for a person"),
      h("span", { class: "spacer" }),
      h("label", { class: "inline" }, toggle, " include work for machines (external, not human)"),
    ),
    listBox,
  );
  // Redrawn only when the offers change, so a row a person is about to
  // click is not swapped out from under the pointer by an unrelated event.
  let shown = null;
  const load = async () => {
    let offers;
    try {
      ({ offers } = await get(`/v1/work${query({ human: all ? "" : "true" })}`));
    } catch (err) {
      shown = null;
      if (ctx.alive) fill(listBox, missing(err) ? empty("This server cannot list work yet (it has no GET /v1/work).") : errorBox(err));
      return;
    }
    if (!ctx.alive) return;
    const now = Date.now();
    const seen = JSON.stringify(offers.map((o) => [o, offerState(o, now)]));
    if (seen === shown) return;
    shown = seen;
    const rows = offers.map((o) => {
      const state = offerState(o, now);
      return h(
        "tr",
        { dataset: { firing: o.firing, case: o.case, transition: o.transition, state } },
        h("td", {}, h("a", { href: `#/inbox/${o.firing}`, class: "task-link" }, h("b", {}, o.transition)), o.human ? null : h("span", { class: "tag" }, "machine")),
        h("td", {}, h("a", { href: `#/cases/${enc(o.case)}`, class: "mono" }, o.case)),
        h("td", {}, o.net),
        h("td", { class: "mono small" }, inline((o.inputs ?? []).map((t) => t.payload), 70)),
        h("td", {}, when(o.offered_at_ms)),
        h("td", {}, o.deadline_ms ? h("span", { title: ago(o.deadline_ms) }, when(o.deadline_ms)) : h("span", { class: "muted" }, "none")),
        h("td", {}, state === "open" ? badge("open") : h("span", {}, badge(state), " ", h("span", { class: "muted small" }, o.claimed_by ?? ""))),
      );
    });
    fill(listBox, rows.length ? table(["Task", "Case", "Net", "Inputs", "Offered", "Deadline", "State"], rows, { id: "inbox-table" }) : empty("Nothing waits for a person."));
  };
  await load();
  const reload = throttle(load, 1000);
  ctx.onEvent(() => reload());
}
