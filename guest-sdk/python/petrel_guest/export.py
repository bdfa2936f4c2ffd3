"""The export: makes a function the component's ``decide``."""

import traceback
import typing

from . import log
from .decision import Decision
from .error import Error
from .firing import Compensated, Firing, Token
from .llm import LlmError

try:
    from wit_world.imports import types as _types
    from componentize_py_types import Err as _Err
except ImportError:  # not inside a component
    _types = None
    _Err = None

Decide = typing.Callable[[Firing], Decision]


def transition(decide: Decide) -> type:
    """Returns the class componentize-py exports as the component's
    ``decide``; bind it to the name ``WitWorld`` in your app module::

        WitWorld = transition(decide)

    ``decide`` gets a ``Firing`` and returns a ``Decision``; an ``Error`` it
    raises fails the firing (retried if retryable), an ``LlmError`` too, and
    any other exception is a fatal ``Error`` naming it.
    """

    class WitWorld:
        def decide(self, firing: typing.Any) -> typing.Any:
            try:
                decision = decide(_firing_from_wit(firing))
                if not isinstance(decision, Decision):
                    raise Error.fatal(
                        f"decide returned {type(decision).__name__}, not a Decision "
                        "(return Decision.fire(outcome), Decision.decline() or Decision.abort(reason))"
                    )
                return _decision_to_wit(decision)
            except Error as err:
                raise _Err(_types.GuestError(message=err.message, retryable=err.retryable))
            except LlmError as err:
                e = err.to_error()
                raise _Err(_types.GuestError(message=e.message, retryable=e.retryable))
            except Exception as err:  # noqa: BLE001 - every bug becomes a failed firing
                where = traceback.extract_tb(err.__traceback__)[-1:]
                at = f" at {where[0].filename}:{where[0].lineno}" if where else ""
                message = f"uncaught {type(err).__name__}{at}: {err}"
                raise _Err(_types.GuestError(message=message, retryable=False))
            finally:
                log._flush_stdio()

    WitWorld.__name__ = "WitWorld"
    return WitWorld


def _token(t: typing.Any) -> Token:
    return Token(t.place, bytes(t.payload))


def _firing_from_wit(f: typing.Any) -> Firing:
    compensated = None
    if f.compensating is not None:
        c = f.compensating
        compensated = Compensated(c.transition, c.outcome, [_token(t) for t in c.outputs])
    return Firing(
        transition=f.transition,
        inputs=[_token(t) for t in f.inputs],
        net=f.net,
        version=f.version,
        case_id=f.case_id,
        attempt=f.attempt,
        compensated=compensated,
    )


def _decision_to_wit(d: Decision) -> typing.Any:
    if d.kind == "fire":
        outputs = [_types.Token(place=t.place, payload=t.payload) for t in d.outputs]
        return _types.Decision_Fire(_types.Fire(outcome=d.outcome, outputs=outputs))
    if d.kind == "abort":
        return _types.Decision_Abort(d.reason)
    return _types.Decision_Decline()
