"""Redaction: every key and token the client ever sent is replaced by ``<redacted>``.

The :class:`Redactor` learns secrets from two places: the auth object's own list, and
every credential header value the pipeline actually put on a request (a token provider
that hands out a new token per call leaves each of them behind). It remembers a bounded
number of them, newest first.

A long secret is replaced wherever it appears. A short one (a test key such as ``test``)
only where it stands as a token of its own, so ordinary words and ids that happen to
contain it (``latest``, ``video_latest_test``) are left readable: redaction must neither
miss nor mangle.

:func:`redact_error` applies a redactor to every piece of an exception built from service
data: its message and ``args`` (what pickling carries), string attributes, parsed body,
headers and the job model it holds, and drops a suppressed ``__context__``.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping

__all__ = ["REDACTED", "Redactor", "redact_error", "redact_value"]

REDACTED = "<redacted>"
SHORT_SECRET = 16
"""Below this length a secret is matched as a whole token only."""
MAX_REMEMBERED = 64


class Redactor:
    """Replaces every known secret in a string with ``<redacted>``."""

    def __init__(self, sources: Callable[[], Iterable[str]] | None = None) -> None:
        self._sources = sources
        self._learned: OrderedDict[str, None] = OrderedDict()

    def learn(self, secret: str) -> None:
        """Remember a secret that was sent (bounded: the oldest are forgotten first)."""
        if not secret:
            return
        self._learned[secret] = None
        self._learned.move_to_end(secret)
        while len(self._learned) > MAX_REMEMBERED:
            self._learned.popitem(last=False)

    def secrets(self) -> list[str]:
        """Every secret known now, longest first (so a secret containing another wins)."""
        known = set(self._learned)
        if self._sources is not None:
            known.update(s for s in self._sources() if s)
        return sorted(known, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets():
            if secret not in text:
                continue
            if len(secret) >= SHORT_SECRET:
                text = text.replace(secret, REDACTED)
            else:
                text = re.sub(rf"(?<![\w-]){re.escape(secret)}(?![\w-])", REDACTED, text)
        return text


def redact_value(value: object, redact: Callable[[str], str]) -> object:
    """``value`` (a parsed JSON body) with every string, key included, passed through ``redact``.

    Iterative, so a body nested thousands of levels deep cannot raise ``RecursionError``.
    """
    Work = tuple["dict[object, object] | list[object]", "dict[str, object] | list[object]"]

    def copy(item: object) -> tuple[object, Work | None]:
        if isinstance(item, str):
            return redact(item), None
        if isinstance(item, dict):
            new_dict: dict[str, object] = {}
            return new_dict, (item, new_dict)
        if isinstance(item, list):
            new_list: list[object] = []
            return new_list, (item, new_list)
        return item, None

    result, work = copy(value)
    stack = [work] if work is not None else []
    while stack:
        source, target = stack.pop()
        pairs = source.items() if isinstance(source, dict) else enumerate(source)
        for key, item in pairs:
            new, more = copy(item)
            if isinstance(target, dict):
                target[redact(str(key))] = new
            else:
                target.append(new)
            if more is not None:
                stack.append(more)
    return result


def redact_error(error: BaseException, redact: Callable[[str], str]) -> BaseException:
    """Pass every piece of ``error`` built from service data through ``redact``; return it."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen and len(seen) < 8:
        seen.add(id(current))
        _redact_one(current, redact)
        if current.__suppress_context__:
            # Hidden on purpose ("raise ... from None"): it may hold the raw body (a
            # pydantic ValidationError quotes its input), and nobody reads it.
            current.__context__ = None
        current = current.__cause__ or current.__context__
    return error


def _redact_one(error: BaseException, redact: Callable[[str], str]) -> None:
    error.args = tuple(redact(a) if isinstance(a, str) else a for a in error.args)
    for name, value in list(vars(error).items()):
        if isinstance(value, str):
            setattr(error, name, redact(value))
        elif name == "body":
            setattr(error, name, redact_value(value, redact))
        elif name == "headers" and isinstance(value, Mapping):
            setattr(error, name, {k: redact(str(v)) for k, v in value.items()})
        elif hasattr(value, "model_dump") and hasattr(value, "model_validate"):
            # The job model a JobFailedError carries: its error message came from the service.
            try:
                setattr(error, name, type(value).model_validate(
                    redact_value(value.model_dump(mode="json"), redact)))
            except ValueError:
                setattr(error, name, None)
