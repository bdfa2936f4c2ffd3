// A TypeScript guest that tries everything a sandboxed guest must not do;
// what it tries is the transition's name (tests/poly/containment.rs).
import { Decision, Firing, llm, transition } from "petrel-guest";

const g = globalThis as Record<string, any>;

function attempt(what: string): unknown {
  switch (what) {
    case "files":
      // No fs module exists; the closest a script gets is a dynamic import.
      return typeof g.require === "function" ? g.require("fs").readFileSync("/etc/passwd") : "no require";
    case "list_dir":
      return typeof g.Deno === "object" ? "deno" : "no filesystem API";
    case "sockets":
      return typeof g.fetch === "function" ? String(g.fetch("http://127.0.0.1:22/")) : "no fetch";
    case "env":
      return typeof g.process === "object" ? g.process.env : "no process";
    case "clock":
      return Date.now();
    case "random":
      return Math.random();
    case "os_random":
      return typeof g.crypto === "object" ? Array.from(g.crypto.getRandomValues(new Uint8Array(8))) : "no crypto";
    case "llm":
      return llm.complete(new llm.Request().user("hi")).text;
    case "spin": {
      let n = 0;
      for (;;) n++;
    }
    case "memory": {
      const hoard: Uint8Array[] = [];
      for (;;) hoard.push(new Uint8Array(8 << 20).fill(1));
    }
  }
  throw new Error(`nothing to try for ${what}`);
}

export const decide = transition((firing: Firing): Decision => {
  const what = firing.transition;
  switch (what) {
    case "undeclared_outcome":
      return Decision.fire("escape").token("done", 1);
    case "wrong_place":
      return Decision.fire("done").token("start_files", 1);
    case "too_many_tokens":
      return Decision.fire("done").token("done", 1).token("done", 2);
    case "not_msgpack":
      return Decision.fire("done").tokenBytes("done", new Uint8Array([0xc1]));
  }
  let got: unknown;
  try {
    got = attempt(what);
  } catch (err) {
    got = `threw ${String(err)}`;
  }
  return Decision.fire("done").token("done", { tried: what, got });
});
