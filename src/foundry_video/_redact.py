"""Redaction: every key and token the client ever sent is replaced by ``<redacted>``.

The :class:`Redactor` learns secrets from two places: the auth object's own list, and
every credential header value the pipeline actually put on a request (a token provider
that hands out a new token per call leaves each of them behind). It remembers a bounded
number of them, newest first.

A long secret is replaced wherever it appears. A short one (a test key such as ``test``)
only where it stands as a token of its own, so ordinary words that happen to contain it
(``latest``) are left readable: redaction must neither miss nor mangle.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Iterable

__all__ = ["REDACTED", "Redactor", "redact_value"]

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
                text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(secret)}(?![A-Za-z0-9])", REDACTED, text)
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
