"""Transition `classify_intent` of the refund flow, in Python: asks the
host's language model whether a customer's message asks for a refund.

The same contract as the Rust guest (guests/classify-intent): consumes a
`request_received` token and fires `refund` (`{request, intent, reason}` into
`to_check`), `not_refund` (into `closed`) or `unsure` (the request, unchanged,
into `human_handoff`). The request it sends the model is byte for byte the
Rust guest's, so both answer from the same cassette.
"""

from dataclasses import asdict, dataclass

from petrel_guest import Decision, Firing, llm, log, transition

SYSTEM = (
    "You triage customer messages for an online shop. Decide whether the customer asks "
    "for their money back. Answer only with JSON: {\"intent\": \"refund\" | \"not_refund\" "
    "| \"unsure\", \"reason\": \"<one short sentence>\"}. Answer \"unsure\" when the "
    "message is ambiguous."
)

SCHEMA = (
    '{"type":"object","properties":{"intent":{"type":"string","enum":["refund",'
    '"not_refund","unsure"]},"reason":{"type":"string"}},"required":["intent","reason"],'
    '"additionalProperties":false}'
)

# Model failures that send the request to a person instead of failing the firing.
HAND_OFF = ("invalid_answer", "budget_exceeded", "timeout", "refused_by_policy")


@dataclass
class RefundRequest:
    request_id: str
    customer: str
    order_id: str
    message: str
    order_age_days: int
    amount_cents: int


def hand_off(request: RefundRequest, why: str) -> Decision:
    log.info(f"{request.request_id}: handing over to a human: {why}")
    return Decision.fire("unsure").token("human_handoff", request)


def decide(firing: Firing) -> Decision:
    request = firing.input("request_received", RefundRequest)
    try:
        verdict = llm.ask_json(
            llm.Request()
            .system(SYSTEM)
            .user(request.message)
            .max_output_tokens(60)
            .temperature(0.0)
            .json_schema(SCHEMA)
        )
    except llm.LlmError as err:
        if err.kind in HAND_OFF:
            return hand_off(request, err.message)
        raise
    intent, reason = verdict.get("intent"), str(verdict.get("reason", ""))
    if intent not in ("refund", "not_refund", "unsure"):
        return hand_off(request, f"the model answered intent {intent!r}")
    log.info(f"{request.request_id}: {intent} ({reason})")
    classified = {"request": asdict(request), "intent": intent, "reason": reason}
    if intent == "refund":
        return Decision.fire("refund").token("to_check", classified)
    if intent == "not_refund":
        return Decision.fire("not_refund").token("closed", classified)
    return hand_off(request, reason)


WitWorld = transition(decide)
