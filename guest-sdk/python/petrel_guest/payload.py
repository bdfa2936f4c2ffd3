"""MessagePack payloads: plain values and dataclasses, both ways."""

import dataclasses
import typing

import umsgpack

from .error import Error


def encode(place: str, value: typing.Any) -> bytes:
    """Encodes ``value`` (a dataclass becomes a map of its fields)."""
    try:
        return umsgpack.packb(_plain(value))
    except Exception as err:  # noqa: BLE001 - any encoder failure is the guest's
        raise Error.fatal(f"cannot encode the payload for place `{place}`: {err}") from None


def decode(place: str, payload: bytes, kind: typing.Any = None) -> typing.Any:
    """Decodes ``payload``; with a dataclass ``kind``, builds one from the map."""
    try:
        value = umsgpack.unpackb(payload)
    except Exception as err:  # noqa: BLE001
        raise Error.fatal(f"cannot decode the token in place `{place}`: {err}") from None
    if kind is None:
        return value
    name = getattr(kind, "__name__", repr(kind))
    if dataclasses.is_dataclass(kind):
        if not isinstance(value, dict):
            raise Error.fatal(
                f"cannot decode the token in place `{place}` as `{name}`: "
                f"expected a map, found {type(value).__name__}"
            )
        fields = {f.name for f in dataclasses.fields(kind)}
        try:
            return kind(**{k: v for k, v in value.items() if k in fields})
        except TypeError as err:
            raise Error.fatal(
                f"cannot decode the token in place `{place}` as `{name}`: {err}"
            ) from None
    if isinstance(kind, type) and not isinstance(value, kind):
        raise Error.fatal(
            f"cannot decode the token in place `{place}` as `{name}`: "
            f"found {type(value).__name__}"
        )
    return value


def _plain(value: typing.Any) -> typing.Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
