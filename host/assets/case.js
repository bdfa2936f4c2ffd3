// One case: its status, its marking on the net drawing and as a table, its
// dead letters, its event timeline (live), and cancel.

import { enc, get, post, query } from "./api.js";
import { action, badge, empty, errorBox, field, fill, h, inline, json, short, throttle, toast, when } from "./dom.js";
import { graphBox } from "./graph.js";
import { workerName } from "./inbox.js";
import { timeline } from "./timeline.js";

const FINISHED = ["completed", "aborted", "compensating", "compensation_failed"];
const HISTORY_PAGE = 500;
/// Most events read when the page opens; "Load more" reads the rest.
const FIRST_READ = 2000;

export function markingTable(tokens) {
  if (!tokens.length) return empty("No tokens: the case holds none right now.");
  return h(
    "table",
    { class: "grid", id: "marking" },
    h("thead", {}, h("tr", {}, h("th", {}, "Place"), h("th", {}, "Seq"), h("th", {}, "Payload"))),
    h(
      "tbody",
      {},
      tokens.map((t) =>
        h(
          "tr",
          { dataset: { place: t.place } },
          h("td", { class: "place" }, t.place),
          h("td", { class: "mono muted" }, String(t.seq)),
          h("td", {}, h("details", { class: "payload" }, h("summary", { class: "mono" }, inline(t.payload, 100)), json(t.payload))),
        ),
      ),
    ),
  );
}

/// Reads history pages after `after` until `max` events or the end; the
/// events and the cursor to go on from (null at the end).
export async function readHistory(id, after, max) {
  const events = [];
  let cursor = after;
  while (cursor !== null && events.length < max) {
    const page = await get(`/v1/cases/${enc(id)}/history${query({ after: cursor, limit: HISTORY_PAGE })}`);
    events.push(...page.events);
    cursor = page.next_after;
  }
  return { events, next: cursor };
}

export async function caseView(root, ctx) {
  const id = ctx.params[0];
  let view = await get(`/v1/cases/${enc(id)}`);
  if (!ctx.alive) return;

  const head = h("div", { class: "page-head" });
  const facts = h("dl", { class: "facts" });
  const cancelBox = h("div");
  const markingBox = h("div");
  const lettersBox = h("div");
  const drawing = graphBox(view.version, id);
  const tl = timeline(view.started_at_ms);
  const more = h("div");

  const render = () => {
    fill(
      head,
      h("h1", {}, h("span", { class: "muted" }, "Case "), h("span", { class: "mono", id: "case-id" }, view.id)),
      h("span", { id: "case-status", dataset: { status: view.status } }, badge(view.status)),
      h("span", { class: "spacer" }),
      FINISHED.includes(view.status) ? null : h("button", { type: "button", class: "danger", id: "cancel-case", onclick: () => cancelForm(cancelBox, id, refresh) }, "Cancel case"),
    );
    fill(
      facts,
      fact("Net", h("a", { href: `#/nets/${enc(view.version)}` }, view.net, " ", h("span", { class: "mono muted" }, short(view.version)))),
      fact("Started", when(view.started_at_ms)),
      fact("Updated", when(view.updated_at_ms)),
      view.attempt > 1 ? fact("Attempt", String(view.attempt)) : null,
      view.restart_at_ms ? fact("Starts again", when(view.restart_at_ms)) : null,
      view.saga ? fact("Compensations", inline(view.saga, 200)) : null,
      view.archived ? fact("Archived", inline(view.archived, 200)) : null,
    );
    fill(markingBox, markingTable(view.tokens));
    fill(
      lettersBox,
      view.dead_letters?.length
        ? h(
            "div",
            { class: "callout bad" },
            "Dead letters: ",
            view.dead_letters.map((d) => [h("a", { href: `#/dead-letters/${d}`, class: "mono" }, String(d)), " "]),
          )
        : null,
    );
  };

  fill(
    root,
    head,
    facts,
    cancelBox,
    lettersBox,
    h("section", { class: "card" }, h("h2", {}, "Net and marking"), drawing.box),
    h("div", { class: "split" }, h("section", { class: "card" }, h("h2", {}, "Timeline"), tl.list, more), h("section", { class: "card" }, h("h2", {}, "Tokens"), markingBox)),
  );
  render();

  const loadMore = async (max) => {
    const { events, next } = await readHistory(id, Math.max(tl.last(), 0), max);
    if (!ctx.alive) return;
    tl.add(events);
    fill(more, next === null ? null : h("button", { type: "button", onclick: () => loadMore(FIRST_READ) }, "Load more events"));
  };
  await loadMore(FIRST_READ).catch((err) => fill(more, errorBox(err)));

  async function refresh() {
    try {
      view = await get(`/v1/cases/${enc(id)}`);
    } catch (err) {
      toast(err.message, "error");
      return;
    }
    if (!ctx.alive) return;
    render();
    drawing.refresh();
    if (!more.firstChild) await loadMore(FIRST_READ).catch(() => {});
  }
  const soon = throttle(refresh, 750);
  ctx.onEvent((e) => {
    if (e.type === "tick") {
      if (!FINISHED.includes(view.status) || view.status === "compensating") soon();
    } else if (e.case === id) {
      soon();
    }
  });
}

function fact(label, value) {
  return [h("dt", {}, label), h("dd", {}, value)];
}

/// The inline confirmation of a cancel, with an optional reason.
function cancelForm(box, id, done) {
  if (box.firstChild) {
    fill(box);
    return;
  }
  const reason = h("input", { id: "cancel-reason", placeholder: "reason (optional)", autocomplete: "off", size: 40 });
  fill(
    box,
    h(
      "div",
      { class: "callout warn confirm" },
      h("span", {}, "Cancel this case? Running and offered firings are withdrawn and compensations run, newest first."),
      field("Reason", reason),
      action("Cancel the case", { class: "danger", id: "confirm-cancel" }, async () => {
        const record = await post(`/v1/cases/${enc(id)}/cancel`, { by: workerName(), ...(reason.value.trim() ? { reason: reason.value.trim() } : {}) });
        toast(`Case ${id} is ${record.status}`);
        fill(box);
        await done();
      }),
      h("button", { type: "button", class: "quiet", onclick: () => fill(box) }, "Keep it"),
    ),
  );
}
