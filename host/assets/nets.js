// Nets: every deployed version grouped by name, and one version drawn with
// the tokens of its live cases, its places, transitions and source.

import { enc, get, missing } from "./api.js";
import { empty, errorBox, fill, h, short, table, throttle, when } from "./dom.js";
import { allNets } from "./cases.js";
import { graphBox } from "./graph.js";

export async function netsView(root, ctx) {
  const nets = await allNets();
  if (!ctx.alive) return;
  const byName = new Map();
  for (const n of nets) {
    if (!byName.has(n.name)) byName.set(n.name, []);
    byName.get(n.name).push(n);
  }
  const rows = [];
  for (const name of [...byName.keys()].sort()) {
    const versions = byName.get(name).sort((a, b) => b.deployed_at_ms - a.deployed_at_ms);
    versions.forEach((n, i) =>
      rows.push(
        h(
          "tr",
          { dataset: { net: n.name, version: n.version } },
          h("td", {}, i === 0 ? h("b", {}, n.name) : ""),
          h("td", {}, h("a", { href: `#/nets/${enc(n.version)}`, class: "mono" }, short(n.version)), i === 0 ? h("span", { class: "tag" }, "newest") : null),
          h("td", {}, when(n.deployed_at_ms)),
          h("td", {}, h("a", { href: `#/cases?net=${enc(n.name)}` }, "cases")),
        ),
      ),
    );
  }
  fill(
    root,
    h("div", { class: "page-head" }, h("h1", {}, "Nets"), h("span", { class: "muted" }, `${byName.size} nets, ${nets.length} versions`)),
    rows.length ? table(["Net", "Version", "Deployed", ""], rows, { id: "nets-table" }) : empty("No net is deployed yet (POST /v1/nets, or `petrel deploy`)."),
  );
}

const arcs = (list) => (list ?? []).map(([place, weight]) => (weight === 1 ? place : `${place} ×${weight}`)).join(", ");

export async function netView(root, ctx) {
  const version = ctx.params[0];
  const drawing = graphBox(version, undefined);
  const detailBox = h("div");
  fill(
    root,
    h("div", { class: "page-head" }, h("h1", { id: "net-title" }, h("span", { class: "muted" }, "Net "), h("span", { class: "mono" }, short(version)))),
    h("section", { class: "card" }, h("h2", {}, "Drawing ", h("span", { class: "muted" }, "· tokens of every live case")), drawing.box),
    detailBox,
  );
  let net;
  try {
    net = await get(`/v1/nets/${enc(version)}`);
  } catch (err) {
    fill(detailBox, missing(err) ? empty("This server does not describe net versions yet.") : errorBox(err));
    return;
  }
  if (!ctx.alive) return;
  fill(
    root.querySelector("#net-title"),
    net.name,
    " ",
    h("span", { class: "mono muted small" }, short(net.version)),
  );
  root.querySelector(".page-head").append(h("span", { class: "muted" }, "deployed ", when(net.deployed_at_ms)), h("span", { class: "spacer" }), h("a", { href: `#/cases?net=${enc(net.name)}` }, "Cases of this net →"));
  const placeRows = net.places.map((p) =>
    h(
      "tr",
      { dataset: { place: p.name } },
      h("td", { class: "place" }, p.name),
      h("td", {}, [p.start && "start", p.final && "final", p.shared && "shared"].filter(Boolean).map((t) => h("span", { class: "tag" }, t))),
    ),
  );
  const transitionRows = net.transitions.map((t) =>
    h(
      "tr",
      { dataset: { transition: t.name } },
      h("td", {}, h("b", {}, t.name), t.human ? h("span", { class: "tag human" }, "human") : t.external ? h("span", { class: "tag" }, "external") : null),
      h("td", {}, arcs(t.inputs)),
      h(
        "td",
        {},
        h(
          "ul",
          { class: "plain" },
          t.outcomes.map((o) => h("li", {}, h("b", { class: "outcome" }, o.name), ` → ${arcs(o.outputs) || "nothing"}`, o.form ? h("span", { class: "tag" }, "form") : null)),
        ),
      ),
    ),
  );
  fill(
    detailBox,
    h(
      "div",
      { class: "split" },
      h("section", { class: "card" }, h("h2", {}, "Places"), table(["Place", ""], placeRows, { id: "places-table" })),
      h("section", { class: "card" }, h("h2", {}, "Transitions"), table(["Transition", "Inputs", "Outcomes"], transitionRows, { id: "transitions-table" })),
    ),
    h("section", { class: "card" }, h("details", {}, h("summary", {}, "Net file"), h("pre", { class: "source" }, net.source))),
  );
  const redraw = throttle(drawing.refresh, 1500);
  ctx.onEvent(() => redraw());
}
