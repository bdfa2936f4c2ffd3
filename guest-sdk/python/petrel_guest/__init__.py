"""Write Petrel transitions in Python: the same shape as the Rust SDK.

A transition reads the tokens its firing consumed and returns a decision;
it cannot write anything::

    from dataclasses import dataclass
    from petrel_guest import Decision, Firing, log, transition

    @dataclass
    class Order:
        order_id: str
        amount_cents: int

    def decide(firing: Firing) -> Decision:
        order = firing.input("credit_check", Order)
        log.info(f"checking {order.order_id}")
        if order.amount_cents <= 100_000:
            return Decision.fire("ok").token("credit_ok", order)
        return Decision.fire("refused").token("credit_refused", order)

    WitWorld = transition(decide)

- ``Firing``, ``Token``, ``Compensated``: what the host hands over; payloads
  are MessagePack, decoded into plain values or a dataclass.
- ``Decision``: ``fire(outcome).token(place, value)``, ``decline()``,
  ``abort(reason)``.
- ``Error``: a failed firing, retryable or not.
- ``log``, ``llm``: the host's imports.
- ``transition``: makes a function the component's ``decide``.

The component is built by ``petrel build`` with componentize-py
(``--stub-wasi``): it imports no WASI at all, so files, sockets, the
environment, clocks and the OS's randomness are not there (using them traps:
a failed firing). Import every module you need at the top of your module:
modules are loaded when the component is built, not while it runs.
"""

from .error import Error
from .firing import Compensated, Firing, Token
from .decision import Decision
from . import log
from . import llm
from .export import transition

__all__ = [
    "Compensated",
    "Decision",
    "Error",
    "Firing",
    "Token",
    "llm",
    "log",
    "transition",
]
