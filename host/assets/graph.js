// The net drawn by Mermaid (vendored, loaded on first use) from the text
// `GET /v1/nets/{version}/graph` serves, token counts included.

import { enc, get, missing, query } from "./api.js";
import { errorBox, fill, h } from "./dom.js";

let loading = null;
let counter = 0;

function mermaid() {
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = "/ui/mermaid.min.js";
      script.onload = () => {
        window.mermaid.initialize({
          startOnLoad: false,
          securityLevel: "strict",
          theme: "neutral",
          fontFamily: "ui-sans-serif, system-ui, sans-serif",
          flowchart: { htmlLabels: false, curve: "basis", nodeSpacing: 30, rankSpacing: 45 },
        });
        resolve(window.mermaid);
      };
      script.onerror = () => reject(new Error("could not load the Mermaid bundle"));
      document.head.append(script);
    });
  }
  return loading;
}

/// A box that draws the graph of `version` (with `caseId`'s marking, or
/// every live case's); `refresh()` redraws it only when the text changed.
export function graphBox(version, caseId) {
  const box = h("div", { class: "graph", id: "graph" }, h("div", { class: "muted" }, "Drawing the net…"));
  let shown = null;
  let busy = false;
  const refresh = async () => {
    if (busy) return;
    busy = true;
    try {
      const text = await get(`/v1/nets/${enc(version)}/graph${query({ format: "mermaid", case: caseId })}`);
      if (text === shown) return;
      const m = await mermaid();
      const { svg } = await m.render(`petrel-graph-${++counter}`, String(text));
      // Mermaid's output (labels sanitised under securityLevel "strict") is
      // parsed inertly, never assigned as HTML; the page's policy allows no
      // inline script besides.
      const doc = new DOMParser().parseFromString(svg, "text/html");
      const node = doc.body.querySelector("svg");
      if (!node) throw new Error("Mermaid drew nothing");
      node.removeAttribute("height");
      fill(box, document.importNode(node, true));
      box.dataset.text = String(text);
      shown = text;
    } catch (err) {
      fill(box, missing(err) ? h("div", { class: "muted" }, "This server does not serve net drawings yet.") : errorBox(err));
    } finally {
      busy = false;
    }
  };
  refresh();
  return { box, refresh };
}
