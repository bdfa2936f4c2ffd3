"""Unit tests of the Python guest SDK outside a component (run by
tests/poly/sdk.rs with the toolchain's Python: `python -m unittest`)."""

import dataclasses
import unittest

from petrel_guest import Decision, Error, Firing, Token, llm


@dataclasses.dataclass
class Order:
    order_id: str
    amount_cents: int


class DecisionTest(unittest.TestCase):
    def test_fire_collects_tokens_in_order(self):
        d = Decision.fire("valid").token("a", Order("o-1", 5)).token_bytes("b", b"\x01")
        self.assertEqual(d.outcome, "valid")
        self.assertEqual([t.place for t in d.outputs], ["a", "b"])
        self.assertEqual(d.output("a"), {"order_id": "o-1", "amount_cents": 5})
        self.assertEqual(d.output("a", Order), Order("o-1", 5))

    def test_tokens_on_a_decision_that_does_not_fire_are_an_error(self):
        with self.assertRaises(Error) as caught:
            Decision.decline().token("a", 1)
        self.assertIn("the decision is `decline`, not `fire`", caught.exception.message)
        self.assertFalse(caught.exception.retryable)
        with self.assertRaises(Error):
            Decision.abort("no").token_bytes("a", b"")


class FiringTest(unittest.TestCase):
    def test_inputs_decode_into_dataclasses_and_name_the_place(self):
        firing = Firing("check", inputs=[Token.encode("order", {"order_id": "o", "amount_cents": 3})])
        self.assertEqual(firing.input("order", Order), Order("o", 3))
        with self.assertRaises(Error) as caught:
            firing.input("missing")
        self.assertIn("no token in place `missing`", caught.exception.message)
        bad = Firing("check", inputs=[Token.encode("order", [1, 2])])
        with self.assertRaises(Error) as caught:
            bad.input("order", Order)
        self.assertIn("as `Order`: expected a map", caught.exception.message)

    def test_payloads_round_trip_as_message_pack(self):
        value = {"s": "x", "n": -3, "f": 1.5, "b": True, "l": [1, None], "raw": b"\x00"}
        self.assertEqual(Token.encode("p", value).decode(), value)


class LlmTest(unittest.TestCase):
    def test_answers_parse_with_or_without_a_fence(self):
        self.assertEqual(llm.parse_json(' {"refund": true} '), {"refund": True})
        self.assertEqual(llm.parse_json('```json\n{"refund": false}\n```'), {"refund": False})

    def test_unparsable_answers_are_invalid_and_retryable(self):
        with self.assertRaises(llm.LlmError) as caught:
            llm.parse_json("I think so")
        self.assertEqual(caught.exception.kind, "invalid_answer")
        self.assertTrue(caught.exception.to_error().retryable)

    def test_schemas_may_be_dicts(self):
        request = llm.Request().user("hi").json_schema({"type": "object"})
        self.assertEqual(request._json_schema, '{"type": "object"}')

    def test_outside_a_component_calls_are_refused(self):
        with self.assertRaises(llm.LlmError) as caught:
            llm.complete(llm.Request().user("hi"))
        self.assertEqual(caught.exception.kind, "refused_by_policy")


if __name__ == "__main__":
    unittest.main()
