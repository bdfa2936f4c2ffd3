// Stands in for `wit-llm.ts` in a component built without `llm`: the
// component does not import it, and every call is refused.
import type { WitRequest, WitResponse } from "petrel:transition/llm@0.1.0";

export function complete(_request: WitRequest): WitResponse {
  throw {
    payload: {
      tag: "refused-by-policy",
      val: 'this component was built without `llm` (grant `capabilities = ["llm"]` to its transition and run `petrel build` again)',
    },
  };
}
