// Dead letters: firings that ran out of attempts. List, show, retry (the
// tokens go back and the same transition fires again on them, with a fresh
// attempt count) or discard (gone for good). Who did it is logged: the name
// this tab goes by (as the inbox records it).

import { enc, get, post, query } from "./api.js";
import { action, empty, errorBox, field, fill, go, h, inline, json, table, throttle, toast, when } from "./dom.js";
import { workerName } from "./inbox.js";
import { failure } from "./timeline.js";

const PAGE = 50;

function lastError(d) {
  const last = d.failures?.[d.failures.length - 1];
  return last ? failure(last.error ?? last) : "";
}

/// Retry and discard buttons for one dead letter; `done()` after either.
function buttons(d, done) {
  const reasonBox = h("span", { class: "discard-box" });
  const retry = action("Retry", { class: "primary retry", dataset: { deadLetter: d.id } }, async () => {
    await post(`/v1/dead-letters/${d.id}/retry`, { by: workerName() });
    toast(`Dead letter ${d.id} retried: its tokens are back in case ${d.case}`);
    await done();
  });
  const discard = h(
    "button",
    {
      type: "button",
      class: "danger discard",
      onclick: () => {
        if (reasonBox.firstChild) return fill(reasonBox);
        const reason = h("input", { placeholder: "why (kept in the log)", class: "discard-reason", autocomplete: "off" });
        fill(
          reasonBox,
          field("Reason", reason),
          action("Discard for good", { class: "danger confirm-discard" }, async () => {
            await post(`/v1/dead-letters/${d.id}/discard`, { by: workerName(), ...(reason.value.trim() ? { reason: reason.value.trim() } : {}) });
            toast(`Dead letter ${d.id} discarded`);
            await done();
          }),
        );
      },
    },
    "Discard…",
  );
  return h("div", { class: "actions" }, retry, discard, reasonBox);
}

export async function deadLettersView(root, ctx) {
  const after = ctx.query.get("after") ?? "";
  const listBox = h("div");
  fill(root, h("div", { class: "page-head" }, h("h1", {}, "Dead letters"), h("span", { class: "muted" }, "firings that ran out of attempts; their case is stuck until one is retried or discarded")), listBox);
  const load = async () => {
    let page;
    try {
      page = await get(`/v1/dead-letters${query({ after, limit: PAGE })}`);
    } catch (err) {
      fill(listBox, errorBox(err));
      return;
    }
    if (!ctx.alive) return;
    const rows = page.dead_letters.map((d) =>
      h(
        "tr",
        { dataset: { deadLetter: d.id, case: d.case } },
        h("td", {}, h("a", { href: `#/dead-letters/${d.id}`, class: "mono" }, String(d.id))),
        h("td", {}, h("a", { href: `#/cases/${enc(d.case)}`, class: "mono" }, d.case)),
        h("td", {}, h("b", {}, d.transition), d.kind === "compensation" ? h("span", { class: "tag" }, "compensation") : null, d.kind === "case" ? h("span", { class: "tag" }, `whole case (${d.ended})`) : null),
        h("td", { class: "num" }, String(d.attempts)),
        h("td", { class: "err" }, inline(lastError(d), 90)),
        h("td", {}, when(d.dead_at_ms)),
        h("td", {}, buttons(d, load)),
      ),
    );
    fill(
      listBox,
      rows.length ? table(["Id", "Case", "Transition", "Attempts", "Last error", "Dead since", ""], rows, { id: "dead-letters-table" }) : empty("No dead letters."),
      h(
        "div",
        { class: "pager" },
        h("button", { type: "button", disabled: !after, onclick: () => go("/dead-letters") }, "First page"),
        h("button", { type: "button", disabled: !page.next_after, onclick: () => go("/dead-letters", { after: page.next_after }) }, "Next →"),
      ),
    );
  };
  await load();
  const reload = throttle(load, 1000);
  ctx.onEvent((e) => {
    if (["tick", "firing_dead_lettered", "case_dead_lettered", "dead_letter_retried", "dead_letter_discarded"].includes(e.type)) reload();
  });
}

export async function deadLetterView(root, ctx) {
  const id = Number(ctx.params[0]);
  const page = await get(`/v1/dead-letters${query({ after: id - 1, limit: 1 })}`);
  if (!ctx.alive) return;
  const d = page.dead_letters.find((x) => x.id === id);
  const head = h("div", { class: "page-head" }, h("h1", {}, h("span", { class: "muted" }, "Dead letter "), h("span", { class: "mono" }, String(id))));
  if (!d) {
    fill(root, head, empty("No such dead letter: it was retried or discarded, or never existed."), h("a", { href: "#/dead-letters" }, "← All dead letters"));
    return;
  }
  const failures = (d.failures ?? []).map((f, i) => h("li", {}, h("b", {}, `attempt ${f.attempt ?? i + 1}`), " ", f.at_ms ? when(f.at_ms) : null, " ", failure(f.error ?? f), h("details", {}, h("summary", {}, "raw"), json(f))));
  fill(
    root,
    head,
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Case"),
      h("dd", {}, h("a", { href: `#/cases/${enc(d.case)}`, class: "mono" }, d.case)),
      h("dt", {}, "Transition"),
      h("dd", {}, d.transition, d.kind === "compensation" ? " (compensation)" : "", d.kind === "case" ? `whole case: ${d.ended} on its last attempt; retry starts it again` : ""),
      h("dt", {}, "Attempts"),
      h("dd", {}, String(d.attempts)),
      h("dt", {}, "Dead since"),
      h("dd", {}, when(d.dead_at_ms)),
    ),
    buttons(d, async () => go(`/cases/${d.case}`)),
    h("section", { class: "card" }, h("h2", {}, "Tokens"), json(d.tokens)),
    h("section", { class: "card" }, h("h2", {}, "Failures"), h("ol", { class: "failures" }, failures)),
    d.last_decision ? h("section", { class: "card" }, h("h2", {}, "Last decision"), json(d.last_decision)) : null,
  );
}
