// One human task: what it is about (its input tokens, the case's tokens and
// history, what the model said and why it was unsure), claim, then pick an
// outcome, fill the payload it produces and complete.

import { ApiError, enc, get, post } from "./api.js";
import { action, ago, badge, empty, errorBox, field, fill, go, h, json, throttle, toast, when } from "./dom.js";
import { markingTable, readHistory } from "./case.js";
import { payloadEditor } from "./form.js";
import { dropLease, heldLease, holdLease, offerState, setWorkerName, workerName } from "./inbox.js";
import { timeline } from "./timeline.js";

/// Lease a person gets on a claimed task (10 minutes; renewable).
const LEASE_MS = 600000;

/// The model's answers in a case's history, newest last.
function modelSaid(events) {
  return events
    .filter((e) => e.type === "llm_exchange")
    .map((e) => {
      let parsed = null;
      try {
        parsed = JSON.parse(e.response?.text ?? "");
      } catch {
        parsed = null;
      }
      const reason = parsed && typeof parsed === "object" ? parsed.reason ?? parsed.why ?? parsed.explanation : null;
      const verdict = parsed && typeof parsed === "object" ? parsed.intent ?? parsed.decision ?? parsed.label ?? parsed.answer : null;
      return h(
        "div",
        { class: "model-said" },
        h("div", { class: "muted small" }, `${e.transition} · ${e.model} · `, when(e.at_ms)),
        verdict !== null && verdict !== undefined ? h("div", {}, "Verdict: ", h("b", { class: "verdict" }, String(verdict))) : null,
        reason ? h("blockquote", { class: "reason" }, String(reason)) : null,
        e.response ? h("details", {}, h("summary", {}, "full answer"), h("pre", { class: "json" }, e.response.text)) : h("div", { class: "error" }, "no answer: ", JSON.stringify(e.error)),
      );
    });
}

export async function taskView(root, ctx) {
  const firing = Number(ctx.params[0]);
  const { offers } = await get("/v1/work");
  if (!ctx.alive) return;
  const offer = offers.find((o) => o.firing === firing);
  const back = h("a", { href: "#/inbox" }, "← Inbox");
  if (!offer) {
    dropLease(firing);
    fill(root, back, h("div", { class: "page-head" }, h("h1", {}, `Task ${firing}`)), empty("This task is no longer offered: it was completed, timed out or withdrawn."));
    return;
  }
  const [caseView, history] = await Promise.all([get(`/v1/cases/${enc(offer.case)}`), readHistory(offer.case, 0, 2000)]);
  if (!ctx.alive) return;
  const decideBox = h("section", { class: "card decide", id: "decide" });
  const tl = timeline(caseView.started_at_ms);
  tl.add(history.events);
  const said = modelSaid(history.events);
  fill(
    root,
    back,
    h(
      "div",
      { class: "page-head" },
      h("h1", {}, h("span", { class: "muted" }, "Task "), offer.transition),
      h("span", { id: "task-state" }, badge(offerState(offer))),
      h("span", { class: "spacer" }),
      h("span", { class: "muted" }, "case ", h("a", { href: `#/cases/${enc(offer.case)}`, class: "mono" }, offer.case), ` · ${offer.net}`),
    ),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Offered"),
      h("dd", {}, when(offer.offered_at_ms)),
      h("dt", {}, "Deadline"),
      h("dd", {}, offer.deadline_ms ? [when(offer.deadline_ms), ` (${ago(offer.deadline_ms)})`] : "none"),
      h("dt", {}, "Attempt"),
      h("dd", {}, String(offer.attempt)),
    ),
    h(
      "div",
      { class: "split" },
      h(
        "div",
        {},
        decideBox,
        h("section", { class: "card" }, h("h2", {}, "Inputs"), (offer.inputs ?? []).map((t) => h("div", { class: "input-token" }, h("div", { class: "place" }, t.place), json(t.payload)))),
      ),
      h(
        "div",
        {},
        said.length ? h("section", { class: "card", id: "model-said" }, h("h2", {}, "What the model said"), said) : null,
        h("section", { class: "card" }, h("h2", {}, "Case tokens"), markingTable(caseView.tokens)),
      ),
    ),
    h("section", { class: "card" }, h("h2", {}, "Case history"), tl.list),
  );
  renderDecide(decideBox, offer, ctx);
  const recheck = throttle(async () => {
    const { offers: now } = await get("/v1/work").catch(() => ({ offers: [] }));
    if (ctx.alive && !now.some((o) => o.firing === firing) && !decideBox.dataset.done) {
      dropLease(firing);
      fill(decideBox, h("h2", {}, "Decision"), h("div", { class: "callout warn" }, "This task is no longer offered (completed elsewhere, timed out or withdrawn)."));
    }
  }, 2000);
  ctx.onEvent((e) => {
    if (e.case === offer.case || e.type === "tick") recheck();
  });
}

function renderDecide(box, offer, ctx) {
  const lease = heldLease(offer.firing);
  const mine = lease && lease.lease_until_ms > Date.now();
  if (!mine) {
    const taken = offer.claimed_by && offer.lease_until_ms > Date.now();
    const who = h("input", { id: "worker-name", value: workerName(), autocomplete: "off", size: 18 });
    fill(
      box,
      h("h2", {}, "Decision"),
      taken ? h("div", { class: "callout warn" }, `Claimed by ${offer.claimed_by} until `, when(offer.lease_until_ms), ". You can claim it once the lease runs out.") : null,
      h(
        "div",
        { class: "row" },
        field("Your name", who),
        action("Claim", { class: "primary", id: "claim", disabled: taken }, async () => {
          const worker = who.value.trim() || "dashboard";
          setWorkerName(worker);
          const item = await post("/v1/work/claim", { worker, firing: offer.firing, lease_ms: LEASE_MS, wait_ms: 0 });
          if (!item) {
            toast("Someone else claimed it first, or it is no longer offered.", "error");
            return;
          }
          holdLease({ ...item, worker });
          toast(`Claimed: yours until ${new Date(item.lease_until_ms).toLocaleTimeString()}`);
          if (ctx.alive) renderDecide(box, { ...offer, lease_until_ms: item.lease_until_ms, claimed_by: worker }, ctx);
        }),
      ),
    );
    return;
  }
  const outcomes = offer.outcomes ?? [];
  const choice = h("div", { class: "outcomes", role: "radiogroup" });
  const editorBox = h("div", { class: "produce" });
  const errorLine = h("div", { id: "complete-error" });
  let editors = [];
  const choose = (o) => {
    const base = offer.inputs?.[0]?.payload;
    editors = [];
    const parts = [];
    for (const [place, weight] of o.outputs ?? []) {
      for (let i = 0; i < weight; i++) {
        const editor = payloadEditor(o.form ?? null, base && typeof base === "object" && !Array.isArray(base) ? { ...base } : base, `${place}${weight > 1 ? ` #${i + 1}` : ""}`);
        editors.push({ place, editor });
        parts.push(h("div", { class: "produced" }, h("div", {}, "Token for ", h("b", { class: "place" }, place)), editor.node));
      }
    }
    fill(editorBox, parts.length ? parts : h("div", { class: "muted" }, "This outcome produces no token."));
  };
  for (const [i, o] of outcomes.entries()) {
    const radio = h("input", { type: "radio", name: "outcome", value: o.name, checked: i === 0, onchange: () => choose(o) });
    choice.append(h("label", { class: "outcome-choice" }, radio, " ", h("b", {}, o.name), h("span", { class: "muted" }, ` → ${(o.outputs ?? []).map(([p]) => p).join(", ") || "nothing"}`)));
  }
  if (outcomes.length) choose(outcomes[0]);
  const complete = action("Complete", { class: "primary", id: "complete" }, async () => {
    const picked = choice.querySelector("input[name=outcome]:checked")?.value;
    fill(errorLine);
    let tokens;
    try {
      tokens = editors.map(({ place, editor }) => ({ place, payload: editor.value() }));
    } catch (err) {
      fill(errorLine, errorBox(err));
      return;
    }
    try {
      await post(`/v1/work/${offer.firing}/complete`, { lease: lease.lease, outcome: picked, tokens });
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) dropLease(offer.firing);
      fill(errorLine, errorBox(err));
      return;
    }
    dropLease(offer.firing);
    box.dataset.done = "1";
    toast(`Completed ${offer.transition} with ${picked}`);
    go(`/cases/${enc(offer.case)}`);
  });
  const extend = action("Keep it 10 more minutes", { class: "quiet", id: "extend" }, async () => {
    const info = await post(`/v1/work/${offer.firing}/extend`, { lease: lease.lease, lease_ms: LEASE_MS });
    holdLease({ ...info, worker: lease.worker });
    toast(`Yours until ${new Date(info.lease_until_ms).toLocaleTimeString()}`);
  });
  fill(
    box,
    h("h2", {}, "Decision"),
    h("div", { class: "muted small" }, "Claimed by you until ", when(lease.lease_until_ms)),
    h("fieldset", { class: "plain" }, h("legend", {}, "Outcome"), choice),
    editorBox,
    errorLine,
    h("div", { class: "row" }, complete, extend),
  );
}
