"""Language-model calls, made by the host on the guest's behalf::

    from petrel_guest import llm

    verdict = llm.ask_json(
        llm.Request()
        .system("You decide refund requests. Answer in JSON.")
        .user("The parcel arrived broken.")
        .max_output_tokens(200)
        .temperature(0.0)
        .json_schema({"type": "object", "required": ["refund", "reason"]})
    )

The component imports ``petrel:transition/llm`` only when ``petrel build``
builds it for a transition the net file grants ``llm``; built without it,
every call raises ``LlmError`` (``refused_by_policy``). Provider, model, key,
timeout, retries and budgets are host configuration; requests and answers are
recorded in the event log, and replaying a case never asks again.
"""

import json
import typing
from dataclasses import dataclass

from .error import Error

try:
    from wit_world.imports import llm as _wit
    from componentize_py_types import Err as _Err
except ImportError:  # built without `llm`, or not inside a component
    _wit = None
    _Err = None


class Request:
    """A completion request, built step by step. Defaults: no system prompt,
    no messages, 1024 output tokens at most, the provider's temperature,
    free-form answer."""

    def __init__(self) -> None:
        self._system: typing.Optional[str] = None
        self.messages: typing.List[typing.Tuple[str, str]] = []
        self._max_output_tokens = 1024
        self._temperature: typing.Optional[float] = None
        self._json_schema: typing.Optional[str] = None

    def system(self, prompt: str) -> "Request":
        """Sets the system prompt."""
        self._system = prompt
        return self

    def user(self, content: str) -> "Request":
        """Appends a user message."""
        self.messages.append(("user", content))
        return self

    def assistant(self, content: str) -> "Request":
        """Appends an assistant message."""
        self.messages.append(("assistant", content))
        return self

    def max_output_tokens(self, limit: int) -> "Request":
        """Caps the answer's length in tokens."""
        self._max_output_tokens = int(limit)
        return self

    def temperature(self, value: float) -> "Request":
        """Sets the sampling temperature."""
        self._temperature = float(value)
        return self

    def json_schema(self, schema: typing.Any) -> "Request":
        """Asks for structured output matching this JSON schema (a dict, or
        the schema's JSON text)."""
        self._json_schema = schema if isinstance(schema, str) else json.dumps(schema)
        return self


@dataclass
class Usage:
    """Tokens a call used."""

    input_tokens: int
    output_tokens: int


@dataclass
class Response:
    """The model's answer."""

    text: str
    model: str
    usage: Usage


class LlmError(Exception):
    """Why a call gave no usable answer. ``kind`` is one of ``timeout``,
    ``rate_limited``, ``budget_exceeded``, ``provider_error``,
    ``refused_by_policy``, ``not_configured``, ``invalid_answer``."""

    RETRYABLE = ("timeout", "rate_limited", "provider_error", "invalid_answer")

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message

    @property
    def retryable(self) -> bool:
        """Whether retrying the firing could get a usable answer."""
        return self.kind in self.RETRYABLE

    def to_error(self) -> Error:
        """The firing's error (retryable or not)."""
        return Error(self.message, retryable=self.retryable)


_MESSAGES = {
    "timeout": "the language model did not answer in time",
    "rate_limited": "the language model provider is rate limiting",
    "budget_exceeded": "the llm token budget is spent",
    "not_configured": "no language model is configured on the host",
}


def _from_wit(err: typing.Any) -> LlmError:
    name = type(err).__name__.split("_", 1)[-1]
    kind = {
        "Timeout": "timeout",
        "RateLimited": "rate_limited",
        "BudgetExceeded": "budget_exceeded",
        "ProviderError": "provider_error",
        "RefusedByPolicy": "refused_by_policy",
        "NotConfigured": "not_configured",
    }.get(name, "provider_error")
    if kind == "provider_error":
        return LlmError(kind, f"the language model provider failed: {getattr(err, 'value', err)}")
    if kind == "refused_by_policy":
        return LlmError(kind, f"the llm request was refused by policy: {err.value}")
    return LlmError(kind, _MESSAGES[kind])


def complete(request: Request) -> Response:
    """Asks the host's language model."""
    if _wit is None:
        raise LlmError(
            "refused_by_policy",
            "the llm request was refused by policy: this component was built without `llm` "
            "(grant `capabilities = [\"llm\"]` to its transition and run `petrel build` again)",
        )
    wit_request = _wit.Request(
        system=request._system,
        messages=[_wit.Message(role=r, content=c) for r, c in request.messages],
        max_output_tokens=request._max_output_tokens,
        temperature=request._temperature,
        json_schema=request._json_schema,
    )
    try:
        answer = _wit.complete(wit_request)
    except _Err as err:
        raise _from_wit(err.value) from None
    return Response(
        text=answer.text,
        model=answer.model,
        usage=Usage(answer.usage.input_tokens, answer.usage.output_tokens),
    )


def ask_json(request: Request) -> typing.Any:
    """Asks the host's language model and parses its answer as JSON. A
    Markdown code fence around the answer is tolerated; an answer that does
    not parse raises ``LlmError`` (``invalid_answer``, retryable)."""
    return parse_json(complete(request).text)


def parse_json(text: str) -> typing.Any:
    """Parses a model's answer as JSON, tolerating a Markdown code fence."""
    try:
        return json.loads(_strip_fence(text))
    except ValueError as err:
        preview = text if len(text) <= 200 else text[:200] + "..."
        raise LlmError(
            "invalid_answer",
            f"the model's answer is not the expected JSON: {err} (answer: `{preview}`)",
        ) from None


def _strip_fence(text: str) -> str:
    text = text.strip()
    if not (text.startswith("```") and text.endswith("```") and len(text) >= 6):
        return text
    body = text[3:-3]
    first, _, rest = body.partition("\n")
    return (rest if rest else first).strip()
