// The host's `llm` import. `petrel build` uses this file for transitions the
// net file grants `llm`, and `wit-llm-offline.ts` in its place for the others
// (so that their component does not import `llm` at all).
export { complete } from "petrel:transition/llm@0.1.0";
