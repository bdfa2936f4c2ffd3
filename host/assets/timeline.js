// A case's event timeline: firings, decisions, guest log lines, LLM
// exchanges with the tokens they used, retries and timer waits, claims,
// dead letters and compensations. Every field is shown as text.

import { clock, duration, h, inline, json, time } from "./dom.js";

const LABELS = {
  case_started: "started",
  firing_completed: "fired",
  firing_declined: "declined",
  firing_failed: "failed",
  firing_dead_lettered: "dead letter",
  dead_letter_retried: "retried",
  dead_letter_discarded: "discarded",
  compensation_completed: "compensated",
  firing_claimed: "claimed",
  firing_abandoned: "abandoned",
  firing_discarded: "discarded",
  case_aborted: "aborted",
  llm_exchange: "llm",
  case_completed: "completed",
  case_stuck: "stuck",
  case_cancelled: "cancelled",
  region_aborted: "branch aborted",
  case_restarted: "restarted",
  case_dead_lettered: "dead letter",
  log_compacted: "archived",
};

/// `place#seq` of consumed tokens.
const refs = (list) => (list ?? []).map((t) => `${t.place}#${t.seq}`).join(", ");

function tokens(list) {
  return h(
    "ul",
    { class: "tokens" },
    (list ?? []).map((t) => h("li", {}, h("span", { class: "place" }, t.place), " ", h("span", { class: "mono muted" }, `#${t.seq}`), " ", h("code", {}, inline(t.payload, 200)))),
  );
}

function logLines(lines) {
  if (!lines?.length) return null;
  return h(
    "ol",
    { class: "log" },
    lines.map((l) => h("li", { class: `lvl-${String(l.level).replace(/\W/g, "")}` }, h("span", { class: "lvl" }, l.level), " ", l.message)),
  );
}

/// Why a firing failed, in one line (`guest: deadline (timeout_ms 1000)`).
export function failure(error) {
  if (!error) return "";
  const { error: kind, kind: sub, message, ...rest } = error;
  const detail = Object.entries(rest).map(([k, v]) => `${k} ${inline(v, 80)}`).join(", ");
  return [kind, sub].filter(Boolean).join(": ") + (message ? ` — ${message}` : "") + (detail ? ` (${detail})` : "");
}

function llm(e) {
  const usage = e.usage ?? {};
  const used = (usage.input_tokens ?? 0) + (usage.output_tokens ?? 0);
  const summary = [
    h("b", {}, e.transition),
    ` asked ${e.model || e.provider || "the model"}`,
    e.response ? ` · ${used} tokens (${usage.input_tokens ?? 0} in, ${usage.output_tokens ?? 0} out)` : "",
    ` · ${duration(e.latency_ms ?? 0)}`,
    e.replayed_from ? ` · replayed from firing ${e.replayed_from}` : "",
    e.error ? h("span", { class: "error" }, ` · ${inline(e.error, 160)}`) : "",
  ];
  const messages = (e.request?.messages ?? []).map((m) => h("div", { class: "msg" }, h("span", { class: "role" }, m.role), h("p", {}, m.content)));
  const body = [
    e.request?.system ? h("div", { class: "msg system" }, h("span", { class: "role" }, "system"), h("p", {}, e.request.system)) : null,
    messages,
    e.response ? h("div", { class: "msg answer" }, h("span", { class: "role" }, `answer · ${e.response.model ?? ""}`), h("p", {}, e.response.text)) : null,
    e.error ? h("div", { class: "msg error" }, h("span", { class: "role" }, "error"), json(e.error)) : null,
  ];
  return [summary, body];
}

/// The one-line summary and the details of an entry.
function describe(e) {
  switch (e.type) {
    case "case_started":
      return [[`in ${e.net}`], [tokens(e.tokens)]];
    case "firing_completed":
      return [
        [h("b", {}, e.transition), " → ", h("b", { class: "outcome" }, e.outcome), e.timed_out ? h("span", { class: "tag warn" }, "deadline passed") : "", ` · attempt ${e.attempt} · ${duration((e.elapsed_us ?? 0) / 1000)}`],
        [h("div", { class: "muted" }, `consumed ${refs(e.consumed) || "nothing"}`), tokens(e.produced)],
      ];
    case "firing_declined":
      return [[h("b", {}, e.transition), ` declined · attempt ${e.attempt}`], [logLines(e.log)]];
    case "firing_failed":
      return [
        [
          h("b", {}, e.transition),
          ` attempt ${e.attempt} failed: ${failure(e.error)}`,
          e.retry_at_ms ? h("span", { class: "tag wait" }, `retry at ${time(e.retry_at_ms)}`) : h("span", { class: "tag bad" }, "no retry left"),
        ],
        [json(e.error), logLines(e.log)],
      ];
    case "firing_dead_lettered":
      return [[h("b", {}, e.transition), ` gave up after ${e.attempts} attempts: ${failure(e.error)} · `, h("a", { href: `#/dead-letters/${e.firing}` }, `dead letter ${e.firing}`)], [json(e.error)]];
    case "dead_letter_retried":
      return [[`dead letter ${e.dead_letter} (${e.transition}) retried${e.by ? ` by ${e.by}` : ""}`], [tokens(e.restored)]];
    case "dead_letter_discarded":
      return [[`dead letter ${e.dead_letter} (${e.transition}) discarded${e.by ? ` by ${e.by}` : ""}: ${e.reason || "no reason given"}`], [h("div", { class: "muted" }, `dropped ${refs(e.dropped)}`)]];
    case "compensation_completed":
      return [
        [h("b", {}, e.transition), ` undid firing ${e.compensated}`, e.outcome ? ` → ${e.outcome}` : " (nothing to undo)", ` · ${e.remaining} to go`],
        [tokens(e.produced), logLines(e.log)],
      ];
    case "firing_claimed":
      return [[h("b", {}, e.transition), ` claimed by ${e.worker} · attempt ${e.attempt}`, h("span", { class: "tag wait" }, `lease until ${time(e.lease_until_ms)}`)], []];
    case "firing_abandoned":
      return [[h("b", {}, e.transition), ` cut off by a restart; it runs again`], []];
    case "firing_discarded":
      return [[h("b", {}, e.transition), " discarded: the case was aborted while it ran"], [logLines(e.log)]];
    case "case_aborted":
      return [
        [h("b", {}, e.transition || "operator"), ` aborted the case: ${e.reason}`, e.compensations?.length ? ` · compensating ${e.compensations.length}` : ""],
        [h("div", { class: "muted" }, `removed ${refs(e.consumed) || "nothing"}`), logLines(e.log)],
      ];
    case "region_aborted":
      return [
        [h("b", {}, e.transition), ` aborted region ${e.region}: ${e.reason}`, e.compensations?.length ? ` · compensating ${e.compensations.length}` : "", e.discarded?.length ? ` · ${e.discarded.length} dead letter(s) discarded` : ""],
        [h("div", { class: "muted" }, `removed ${refs(e.consumed) || "nothing"}`), tokens(e.produced), logLines(e.log)],
      ];
    case "case_cancelled":
      return [
        [`cancelled by ${e.by || "an operator"}: ${e.reason || "no reason given"}`, e.compensations?.length ? ` · compensating ${e.compensations.length}` : ""],
        [h("div", { class: "muted" }, `removed ${refs(e.consumed) || "nothing"}`)],
      ];
    case "llm_exchange":
      return llm(e);
    case "case_completed":
      return [["every token is in a final place"], []];
    case "case_stuck":
      return [[`nothing can fire; tokens wait in ${(e.places ?? []).join(", ")}`], []];
    case "case_restarted":
      return [
        [h("b", {}, `attempt ${e.attempt}`), " started from the start tokens", e.discarded?.length ? ` · ${e.discarded.length} dead letter(s) of the last attempt discarded` : ""],
        [h("div", { class: "muted" }, `removed ${refs(e.consumed) || "nothing"}`), tokens(e.tokens)],
      ];
    case "case_dead_lettered":
      return [[`${e.ended} after ${e.attempts} attempt(s): the case waits as dead letter ${e.dead_letter}`], []];
    case "log_compacted":
      return [[`${e.cases} finished case(s) archived`], []];
    default: {
      const { seq, at_ms, case: _case, type, ...rest } = e;
      return [[type], [json(rest)]];
    }
  }
}

/// One timeline entry; `start` is the case's start time (for `+1.2 s`).
export function entry(e, start) {
  const [summary, details] = describe(e);
  const body = (details ?? []).flat().filter(Boolean);
  // A completed firing's log lines are shown at once; others' in details.
  const log = e.type === "firing_completed" ? logLines(e.log) : null;
  return h(
    "li",
    { class: `event t-${e.type}`, dataset: { type: e.type, seq: e.seq } },
    h("div", { class: "when" }, h("time", { title: time(e.at_ms) }, clock(e.at_ms)), start ? h("span", { class: "muted" }, `+${duration(e.at_ms - start)}`) : null),
    h("span", { class: `kind k-${e.type}` }, LABELS[e.type] ?? e.type),
    h(
      "div",
      { class: "what" },
      h("div", { class: "summary" }, summary),
      log,
      body.length ? h("details", {}, h("summary", {}, "details"), body) : null,
    ),
  );
}

/// The timeline list; `add(events)` appends entries not shown yet.
export function timeline(start) {
  const list = h("ol", { class: "timeline", id: "timeline" });
  let last = -1;
  const add = (events) => {
    for (const e of events) {
      if (e.seq <= last) continue;
      last = e.seq;
      list.append(entry(e, start));
    }
  };
  return { list, add, last: () => last };
}
