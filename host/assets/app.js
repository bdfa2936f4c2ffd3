// The dashboard: a hash router over the views, the token prompt, the live
// event stream and the inbox counter in the top bar.

import { forgetToken, get, token } from "./api.js";
import { fill, h, throttle } from "./dom.js";
import { start as startEvents, subscribe } from "./events.js";
import { casesView } from "./cases.js";
import { caseView } from "./case.js";
import { netsView, netView } from "./nets.js";
import { deadLettersView, deadLetterView } from "./dead_letters.js";
import { inboxView } from "./inbox.js";
import { taskView } from "./task.js";

const routes = [
  [/^\/cases$/, "cases", casesView],
  [/^\/cases\/(.+)$/, "cases", caseView],
  [/^\/nets$/, "nets", netsView],
  [/^\/nets\/(.+)$/, "nets", netView],
  [/^\/dead-letters$/, "dead-letters", deadLettersView],
  [/^\/dead-letters\/(\d+)$/, "dead-letters", deadLetterView],
  [/^\/inbox$/, "inbox", inboxView],
  [/^\/inbox\/(\d+)$/, "inbox", taskView],
];

let current = null;

/// What a view gets: its parameters, the hash query, a way to hear live
/// events (dropped when the view is left) and to know it is still shown.
class Context {
  constructor(params, query) {
    this.params = params;
    this.query = query;
    this.cleanups = [];
    this.alive = true;
  }
  onEvent(fn) {
    this.cleanups.push(subscribe(fn));
  }
  onLeave(fn) {
    this.cleanups.push(fn);
  }
  leave() {
    this.alive = false;
    for (const fn of this.cleanups) fn();
  }
}

function route() {
  const raw = location.hash.replace(/^#/, "") || "/cases";
  const [path, search] = raw.split("?", 2);
  const main = document.getElementById("main");
  if (current) current.leave();
  let matched = null;
  for (const [re, tab, view] of routes) {
    const m = path.match(re);
    if (m) {
      matched = [tab, view, m.slice(1).map(decodeURIComponent)];
      break;
    }
  }
  for (const a of document.querySelectorAll("[data-nav]")) {
    a.classList.toggle("active", matched?.[0] === a.dataset.nav);
  }
  if (!matched) {
    current = null;
    fill(main, h("div", { class: "empty" }, "No such page. ", h("a", { href: "#/cases" }, "Go to cases")));
    return;
  }
  const ctx = new Context(matched[2], new URLSearchParams(search ?? ""));
  current = ctx;
  const root = h("div", { class: "view" });
  fill(main, root);
  Promise.resolve(matched[1](root, ctx)).catch((err) => {
    if (ctx.alive) fill(root, h("div", { class: "error-box", role: "alert" }, String(err.message ?? err)));
  });
}

/// The number of human tasks waiting, in the top bar.
async function countInbox() {
  const badge = document.getElementById("inbox-count");
  try {
    const { offers } = await get("/v1/work?human=true");
    const open = offers.filter((o) => !o.claimed_by).length;
    badge.textContent = String(open);
    badge.hidden = open === 0;
  } catch {
    badge.hidden = true;
  }
}

document.getElementById("forget-token").hidden = !token();
document.getElementById("forget-token").addEventListener("click", () => {
  forgetToken();
  location.reload();
});
window.addEventListener("hashchange", route);
route();
startEvents();
const recount = throttle(countInbox, 2000);
subscribe((e) => {
  if (["firing_claimed", "firing_completed", "case_started", "case_aborted", "case_cancelled", "tick"].includes(e.type)) recount();
});
countInbox();
