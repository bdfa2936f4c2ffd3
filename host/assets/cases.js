// Cases: the list with its filters (net, status, started between) and
// paging, and the form that starts a case.

import { ApiError, enc, get, missing, post, query } from "./api.js";
import { badge, empty, errorBox, field, fill, go, h, short, table, throttle, toast, when } from "./dom.js";

export const STATUSES = ["running", "completed", "stuck", "aborted", "compensating", "compensation_failed", "restarting"];
const WITHIN = [
  ["", "any time"],
  ["15m", "last 15 min"],
  ["1h", "last hour"],
  ["24h", "last 24 h"],
  ["7d", "last 7 days"],
  ["range", "between…"],
];
const PAGE = 25;

/// Every deployed net version, newest page first (at most 10 pages).
export async function allNets() {
  const nets = [];
  let after = null;
  for (let i = 0; i < 10; i++) {
    const page = await get(`/v1/nets${query({ after, limit: 100 })}`);
    nets.push(...page.nets);
    after = page.next_after;
    if (!after) break;
  }
  return nets;
}

/// `datetime-local` text to ms since the epoch.
const localMs = (text) => (text ? String(new Date(text).getTime()) : "");

/// Cursors of the pages before this one, per filter, for "Previous".
const trail = new Map();

export async function casesView(root, ctx) {
  const q = ctx.query;
  const filter = {
    net: q.get("net") ?? "",
    status: (q.get("status") ?? "").split(",").filter(Boolean),
    within: q.get("within") ?? "",
    from: q.get("from") ?? "",
    to: q.get("to") ?? "",
  };
  const cursor = q.get("page") ?? "";
  const key = JSON.stringify(filter);

  const netSelect = h("select", { name: "net" }, h("option", { value: "" }, "all nets"));
  const statusBoxes = STATUSES.map((s) =>
    h("label", { class: `chip s-${s}` }, h("input", { type: "checkbox", name: "status", value: s, checked: filter.status.includes(s) }), s.replace(/_/g, " ")),
  );
  const within = h("select", { name: "within" }, WITHIN.map(([v, label]) => h("option", { value: v, selected: v === filter.within }, label)));
  const from = h("input", { type: "datetime-local", name: "from", value: filter.from, step: 1 });
  const to = h("input", { type: "datetime-local", name: "to", value: filter.to, step: 1 });
  const range = h("span", { class: "range", hidden: filter.within !== "range" }, field("from", from), field("to", to));
  within.addEventListener("change", () => (range.hidden = within.value !== "range"));
  const form = h(
    "form",
    { class: "toolbar filters", id: "case-filters" },
    field("Net", netSelect),
    h("fieldset", { class: "chips" }, h("legend", {}, "Status"), statusBoxes),
    field("Started", within),
    range,
    h("button", { type: "submit", class: "primary", id: "apply-filters" }, "Apply"),
    h("a", { href: "#/cases", class: "quiet" }, "Clear"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const status = statusBoxes.map((l) => l.firstChild).filter((c) => c.checked).map((c) => c.value);
    const between = within.value === "range";
    go("/cases", {
      net: netSelect.value,
      status: status.join(","),
      within: within.value,
      from: between ? from.value : "",
      to: between ? to.value : "",
    });
  });

  const listBox = h("div", { class: "list" });
  const startBox = h("div");
  fill(
    root,
    h("div", { class: "page-head" }, h("h1", {}, "Cases"), h("span", { class: "spacer" }), startButton(startBox)),
    startBox,
    form,
    listBox,
  );

  allNets()
    .then((nets) => {
      const names = [...new Set(nets.map((n) => n.name))].sort();
      for (const name of names) netSelect.append(h("option", { value: name, selected: name === filter.net }, name));
      if (filter.net && !names.includes(filter.net)) netSelect.append(h("option", { value: filter.net, selected: true }, filter.net));
    })
    .catch(() => {});

  const params = {
    net: filter.net,
    status: filter.status.join(","),
    started_after: filter.within === "range" ? localMs(filter.from) : filter.within,
    started_before: filter.within === "range" ? localMs(filter.to) : "",
    after: cursor,
    limit: PAGE,
  };
  let shown = [];
  const load = async () => {
    let page;
    try {
      page = await get(`/v1/cases${query(params)}`);
    } catch (err) {
      if (!ctx.alive) return;
      fill(listBox, missing(err) ? empty("This server cannot list cases yet (it has no GET /v1/cases).") : errorBox(err));
      return;
    }
    if (!ctx.alive) return;
    shown = page.cases.map((c) => c.id);
    const rows = page.cases.map((c) =>
      h(
        "tr",
        { dataset: { case: c.id, status: c.status } },
        h("td", {}, h("a", { href: `#/cases/${enc(c.id)}`, class: "mono" }, c.id)),
        h("td", {}, h("a", { href: `#/cases?net=${enc(c.net)}` }, c.net)),
        h("td", {}, h("a", { href: `#/nets/${enc(c.version)}`, class: "mono muted" }, short(c.version))),
        h("td", {}, badge(c.status)),
        h("td", {}, when(c.started_at_ms)),
        h("td", {}, when(c.updated_at_ms)),
      ),
    );
    // The cursors of the pages seen so far, in order, for "Previous".
    const seen = trail.get(key) ?? [""];
    const at = seen.indexOf(cursor);
    const prev = !cursor ? null : at > 0 ? seen[at - 1] : "";
    const nav = (page) => () => go("/cases", { ...Object.fromEntries(ctx.query), page });
    fill(
      listBox,
      rows.length ? table(["Case", "Net", "Version", "Status", "Started", "Updated"], rows, { id: "cases-table" }) : empty("No cases match."),
      h(
        "div",
        { class: "pager" },
        h("button", { type: "button", disabled: prev === null, onclick: nav(prev) }, "← Previous"),
        h("span", { class: "muted" }, `${rows.length} shown`),
        h(
          "button",
          {
            type: "button",
            id: "next-page",
            disabled: !page.next_after,
            onclick: () => {
              const here = at < 0 ? seen.push(cursor) - 1 : at;
              seen.splice(here + 1, Infinity, page.next_after);
              trail.set(key, seen);
              nav(page.next_after)();
            },
          },
          "Next →",
        ),
      ),
    );
  };
  await load();
  const reload = throttle(load, 1000);
  ctx.onEvent((e) => {
    if (e.type === "tick" || e.type === "case_started" || shown.includes(e.case)) reload();
  });
}

/// "Start a case" and its form.
function startButton(box) {
  return h(
    "button",
    {
      type: "button",
      class: "primary",
      id: "start-case",
      onclick: () => {
        if (box.firstChild) fill(box);
        else startForm(box);
      },
    },
    "Start a case",
  );
}

async function startForm(box) {
  const netSelect = h("select", { name: "net", id: "start-net", required: true });
  const id = h("input", { name: "id", id: "start-id", placeholder: "generated when empty", autocomplete: "off" });
  const place = h("input", { name: "place", id: "start-place", list: "start-places", required: true, autocomplete: "off" });
  const places = h("datalist", { id: "start-places" });
  const payload = h("textarea", { name: "payload", id: "start-payload", rows: 5, spellcheck: "false" }, "{}");
  const form = h(
    "form",
    { class: "card start-form", id: "start-form" },
    h("h2", {}, "Start a case"),
    h("div", { class: "row" }, field("Net", netSelect), field("Case id", id), field("Start place", place), places),
    field("Payload (JSON)", payload),
    h("div", { class: "row" }, h("button", { type: "submit", class: "primary", id: "start-submit" }, "Start"), h("button", { type: "button", class: "quiet", onclick: () => fill(box) }, "Close")),
  );
  fill(box, form);
  let versions = new Map();
  try {
    const nets = await allNets();
    versions = new Map();
    for (const n of nets) if (!versions.has(n.name) || versions.get(n.name).deployed_at_ms < n.deployed_at_ms) versions.set(n.name, n);
    for (const name of [...versions.keys()].sort()) netSelect.append(h("option", { value: name }, name));
  } catch (err) {
    form.append(errorBox(err));
  }
  const startPlaces = async () => {
    places.replaceChildren();
    const net = versions.get(netSelect.value);
    if (!net) return;
    try {
      const detail = await get(`/v1/nets/${enc(net.version)}`);
      const starts = detail.places.filter((p) => p.start).map((p) => p.name);
      for (const p of starts) places.append(h("option", { value: p }));
      if (starts.length === 1) place.value = starts[0];
    } catch {
      // An older server without GET /v1/nets/{version}: the place is typed.
    }
  };
  netSelect.addEventListener("change", startPlaces);
  startPlaces();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    let value;
    try {
      value = JSON.parse(payload.value || "null");
    } catch (err) {
      toast(`The payload is not JSON: ${err.message}`, "error");
      return;
    }
    try {
      const body = { net: netSelect.value, tokens: [{ place: place.value.trim(), payload: value }] };
      if (id.value.trim()) body.id = id.value.trim();
      const record = await post("/v1/cases", body);
      toast(`Started ${record.id}`);
      id.value = "";
      go(`/cases/${enc(record.id)}`);
    } catch (err) {
      toast(err instanceof ApiError ? `${err.code}: ${err.message}` : String(err), "error");
    }
  });
}
