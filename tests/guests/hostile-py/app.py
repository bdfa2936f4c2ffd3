"""A Python guest that tries everything a sandboxed guest must not do; what
it tries is the transition's name (tests/poly/containment.rs)."""

import os
import random
import socket
import time

from petrel_guest import Decision, Firing, llm, transition


def attempt(what: str):
    if what == "files":
        with open("/etc/passwd") as f:
            return f.read(64)
    if what == "list_dir":
        return os.listdir("/")
    if what == "sockets":
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.connect(("127.0.0.1", 22))
        return "connected"
    if what == "env":
        return dict(os.environ)
    if what == "clock":
        return time.time()
    if what == "random":
        return random.random()
    if what == "os_random":
        return os.urandom(8).hex()
    if what == "llm":
        return llm.complete(llm.Request().user("hi")).text
    if what == "spin":
        n = 0
        while True:
            n += 1
    if what == "memory":
        hoard = []
        while True:
            hoard.append(bytearray(8 << 20))
    raise ValueError(f"nothing to try for {what}")


def decide(firing: Firing) -> Decision:
    what = firing.transition
    if what == "undeclared_outcome":
        return Decision.fire("escape").token("done", 1)
    if what == "wrong_place":
        return Decision.fire("done").token("start_files", 1)
    if what == "too_many_tokens":
        return Decision.fire("done").token("done", 1).token("done", 2)
    if what == "not_msgpack":
        return Decision.fire("done").token_bytes("done", b"\xc1")
    return Decision.fire("done").token("done", {"tried": what, "got": attempt(what)})


WitWorld = transition(decide)
