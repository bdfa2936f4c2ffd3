"""The outcome builder."""

import typing

from .error import Error
from .firing import Token


class Decision:
    """What a transition decided: fire an outcome with some tokens, decline,
    or abort the case::

        Decision.fire("approved").token("approved_orders", order).token("audit", "ok")
        Decision.decline()          # the guard is false: the inputs stay
        Decision.abort("fraud")     # the case cannot go on

    The host checks that the outcome is declared for the transition and that
    every token lands in one of that outcome's places, exactly as many per
    place as the arc weight; anything else is a failed firing.
    """

    __slots__ = ("kind", "outcome", "outputs", "reason")

    def __init__(self, kind: str, outcome: typing.Optional[str] = None, reason: str = ""):
        self.kind = kind
        self.outcome = outcome
        self.outputs: typing.List[Token] = []
        self.reason = reason

    @staticmethod
    def fire(outcome: str) -> "Decision":
        """Fires the declared outcome ``outcome``; add its tokens with ``token``."""
        return Decision("fire", outcome=outcome)

    @staticmethod
    def decline() -> "Decision":
        """The guard is false: the inputs go back where they were."""
        return Decision("decline")

    @staticmethod
    def abort(reason: str) -> "Decision":
        """The case cannot go on: the host aborts it (and compensates)."""
        return Decision("abort", reason=reason)

    def token(self, place: str, value: typing.Any) -> "Decision":
        """Produces a token into ``place``, its payload ``value`` encoded as
        MessagePack (a dataclass as a map of its fields)."""
        return self._push(Token.encode(place, value))

    def token_bytes(self, place: str, payload: bytes) -> "Decision":
        """Produces a token with an already encoded payload (an input's
        ``Token.payload`` passed on unchanged, say)."""
        return self._push(Token(place, bytes(payload)))

    def output(self, place: str, kind: typing.Any = None) -> typing.Any:
        """Decodes the first token produced into ``place`` (handy in tests)."""
        for token in self.outputs:
            if token.place == place:
                return token.decode(kind)
        raise Error.fatal(f"no token produced into place `{place}`")

    def _push(self, token: Token) -> "Decision":
        if self.kind != "fire":
            raise Error.fatal(
                f"cannot produce a token into `{token.place}`: the decision is "
                f"`{self.kind}`, not `fire` (start from `Decision.fire(outcome)`)"
            )
        self.outputs.append(token)
        return self

    def __repr__(self) -> str:
        if self.kind == "fire":
            return f"Decision.fire({self.outcome!r}, {[t.place for t in self.outputs]})"
        if self.kind == "abort":
            return f"Decision.abort({self.reason!r})"
        return "Decision.decline()"
