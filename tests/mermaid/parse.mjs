// Parses Mermaid text with Mermaid's own parser: reads every file named on
// the command line (or stdin when none), prints `ok <diagram type>` per
// file, or the parse error and exits 1. Mermaid needs a DOM even to parse,
// so jsdom provides one.
import { readFileSync } from "node:fs";
import { JSDOM } from "jsdom";

const dom = new JSDOM("<!doctype html><html><body></body></html>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
for (const key of ["Element", "HTMLElement", "Node", "DOMParser", "XMLSerializer", "SVGElement"]) {
  globalThis[key] ??= dom.window[key];
}

const { default: mermaid } = await import("mermaid");
mermaid.initialize({ startOnLoad: false });

const files = process.argv.slice(2);
const inputs = files.length ? files.map((f) => [f, readFileSync(f, "utf8")]) : [["<stdin>", readFileSync(0, "utf8")]];
let failed = false;
for (const [name, text] of inputs) {
  try {
    const result = await mermaid.parse(text);
    console.log(`ok ${name} ${result.diagramType}`);
  } catch (e) {
    failed = true;
    console.log(`error ${name}: ${e.message ?? e}`);
  }
}
process.exit(failed ? 1 : 0);
