"""Transition `{{name}}`: reads the request in `start`, answers it in `done`."""

from dataclasses import dataclass

from petrel_guest import Decision, Firing, log, transition


@dataclass
class Request:
    message: str


def decide(firing: Firing) -> Decision:
    request = firing.input("start", Request)
    log.info(f"{firing.case_id}: got {request.message!r}")
    reply = {"message": request.message, "reply": f"hello from Python: {request.message}"}
    return Decision.fire("done").token("done", reply)


WitWorld = transition(decide)
