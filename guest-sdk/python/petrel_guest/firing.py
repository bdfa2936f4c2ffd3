"""What the host hands to ``decide``: one firing and the tokens it consumed."""

import typing
from dataclasses import dataclass, field

from . import payload
from .error import Error


@dataclass
class Token:
    """A token: the place it lies in (or is produced into) and its
    MessagePack payload."""

    place: str
    payload: bytes

    @staticmethod
    def encode(place: str, value: typing.Any) -> "Token":
        """A token whose payload is ``value`` encoded as MessagePack."""
        return Token(place, payload.encode(place, value))

    def decode(self, kind: typing.Any = None) -> typing.Any:
        """Decodes the payload (into ``kind`` if it is a dataclass); the
        error names the place and the expected type."""
        return payload.decode(self.place, self.payload, kind)


@dataclass
class Compensated:
    """The earlier firing a compensation undoes: what it decided."""

    transition: str
    outcome: str
    outputs: typing.List[Token] = field(default_factory=list)

    def output(self, place: str, kind: typing.Any = None) -> typing.Any:
        """Decodes the first token it produced into ``place``."""
        for token in self.outputs:
            if token.place == place:
                return token.decode(kind)
        raise Error.fatal(
            f"the compensated firing of `{self.transition}` produced no token in place `{place}`"
        )


@dataclass
class Firing:
    """One firing of one transition on one case.

    ``Firing("check", inputs=[Token.encode("order", {...})])`` builds one by
    hand for unit tests of a transition outside the host.
    """

    transition: str
    inputs: typing.List[Token] = field(default_factory=list)
    net: str = "test"
    version: str = "test"
    case_id: str = "case-1"
    attempt: int = 1
    compensated: typing.Optional[Compensated] = None

    def token(self, place: str) -> Token:
        """The first consumed token of ``place``."""
        for token in self.inputs:
            if token.place == place:
                return token
        places = ", ".join(sorted({t.place for t in self.inputs})) or "none"
        raise Error.fatal(
            f"transition `{self.transition}` consumed no token in place `{place}` "
            f"(it consumed tokens in: {places})"
        )

    def tokens_in(self, place: str) -> typing.List[Token]:
        """The consumed tokens of ``place``, oldest first."""
        return [t for t in self.inputs if t.place == place]

    def input(self, place: str, kind: typing.Any = None) -> typing.Any:
        """Decodes the first consumed token of ``place`` (into ``kind`` if it
        is a dataclass)."""
        return self.token(place).decode(kind)

    def inputs_in(self, place: str, kind: typing.Any = None) -> typing.List[typing.Any]:
        """Decodes every consumed token of ``place``, oldest first."""
        return [t.decode(kind) for t in self.tokens_in(place)]
