"""Credentials: API keys, Microsoft Entra ID tokens, and custom token providers.

Each auth object turns into request headers. Secrets are held in :class:`Secret`, whose
``repr`` and ``str`` are redacted, so they stay out of logs, reprs and tracebacks.
"""

from __future__ import annotations

import inspect
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal, Protocol

import anyio
import anyio.to_thread

from ._errors import CredentialError

if TYPE_CHECKING:
    from azure.core.credentials import AccessToken

__all__ = [
    "DEFAULT_ENTRA_SCOPE",
    "ApiKeyAuth",
    "Auth",
    "EntraIdAuth",
    "Secret",
    "TokenProviderAuth",
]

DEFAULT_ENTRA_SCOPE = "https://cognitiveservices.azure.com/.default"
Flavor = Literal["azure", "openai"]
REDACTED = "<redacted>"


class Secret:
    """A string that will not print itself. Use :meth:`reveal` at the point of use only."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str) or not value.strip():
            raise ValueError("a key or token must be a non-empty string")
        self._value = value

    def reveal(self) -> str:
        """Return the secret value."""
        return self._value

    def __repr__(self) -> str:
        return REDACTED

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> Any:
        raise TypeError("secrets are not picklable")


class Auth(ABC):
    """Base class of credentials. Subclass it to plug in another scheme."""

    @abstractmethod
    async def headers(self, flavor: Flavor) -> dict[str, str]:
        """Headers to add to a request sent to an ``azure`` or ``openai`` endpoint."""

    async def invalidate(self) -> bool:
        """Forget a cached token after a 401. Return True when a retry may now succeed."""
        return False

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values the logger must redact wherever they appear."""
        return ()


class ApiKeyAuth(Auth):
    """A resource key: ``api-key`` header on Azure, ``Authorization: Bearer`` on OpenAI.

    ``header="bearer"`` sends the key as a bearer token on Azure too (the v1 API accepts it).
    """

    def __init__(self, key: str, *, header: Literal["auto", "api-key", "bearer"] = "auto") -> None:
        self._key = Secret(key)
        self._header = header

    async def headers(self, flavor: Flavor) -> dict[str, str]:
        """Return the key header for the endpoint flavour."""
        use_bearer = self._header == "bearer" or (self._header == "auto" and flavor == "openai")
        if use_bearer:
            return {"Authorization": f"Bearer {self._key.reveal()}"}
        return {"api-key": self._key.reveal()}

    @property
    def secrets(self) -> tuple[str, ...]:
        """The key."""
        return (self._key.reveal(),)

    def __repr__(self) -> str:
        return f"ApiKeyAuth(key={REDACTED})"


class _AsyncTokenCredential(Protocol):
    def get_token(self, *scopes: str, **kwargs: Any) -> Awaitable[AccessToken]: ...


class _SyncTokenCredential(Protocol):
    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken: ...


class _TokenCache:
    """One bearer token, refreshed ahead of expiry; concurrent callers share one refresh."""

    def __init__(self, fetch: Callable[[], Awaitable[tuple[str, float | None]]],
                 refresh_margin: float) -> None:
        self._fetch = fetch
        self._margin = refresh_margin
        self._held: tuple[Secret, float] | None = None
        """The token and the time (``time.time()``) to refresh it at."""
        self._lock: anyio.Lock | None = None
        self.refreshes = 0

    def _fresh(self) -> bool:
        return self._held is not None and time.time() < self._held[1]

    async def get(self) -> str:
        if self._fresh():
            assert self._held is not None
            return self._held[0].reveal()
        if self._lock is None:
            self._lock = anyio.Lock()
        async with self._lock:
            # Whoever held the lock before us may have refreshed already.
            if not self._fresh():
                token, expires_on = await self._fetch()
                # A token without an expiry is kept until the service rejects it (a 401).
                refresh_at = math.inf if expires_on is None else expires_on - self._margin
                self._held = (Secret(token), refresh_at)
                self.refreshes += 1
            assert self._held is not None
            return self._held[0].reveal()

    def invalidate(self) -> None:
        self._held = None

    @property
    def current(self) -> str | None:
        return None if self._held is None else self._held[0].reveal()


class EntraIdAuth(Auth):
    """Microsoft Entra ID through any azure-identity credential (async or sync).

    Example: ``EntraIdAuth(azure.identity.aio.DefaultAzureCredential())``. The token is
    cached and refreshed ``refresh_margin`` seconds before it expires; a 401 forces one
    refresh. The credential is not closed by the SDK: it belongs to the caller.
    """

    def __init__(
        self,
        credential: _AsyncTokenCredential | _SyncTokenCredential,
        *,
        scope: str = DEFAULT_ENTRA_SCOPE,
        refresh_margin: float = 300.0,
    ) -> None:
        self.credential = credential
        self.scope = scope
        self._cache = _TokenCache(self._fetch, refresh_margin)

    async def _fetch(self) -> tuple[str, float | None]:
        get_token: Any = self.credential.get_token
        if inspect.iscoroutinefunction(get_token):
            result = await get_token(self.scope)
        else:
            # A sync credential blocks on network I/O: keep it off the event loop (and let a
            # caller's timeout abandon a credential that hangs).
            result = await anyio.to_thread.run_sync(get_token, self.scope, abandon_on_cancel=True)
            if inspect.isawaitable(result):
                result = await result
        token = getattr(result, "token", None)
        if not isinstance(token, str) or not token.strip():
            raise CredentialError(f"{type(self.credential).__name__}.get_token() returned no token")
        expires_on = getattr(result, "expires_on", None)
        return token, float(expires_on) if isinstance(expires_on, (int, float)) else None

    async def headers(self, flavor: Flavor) -> dict[str, str]:
        """``Authorization: Bearer <token>``."""
        return {"Authorization": f"Bearer {await self._cache.get()}"}

    async def invalidate(self) -> bool:
        """Drop the cached token so the next request fetches a new one."""
        self._cache.invalidate()
        return True

    @property
    def refresh_count(self) -> int:
        """How many tokens have been fetched (for diagnostics and tests)."""
        return self._cache.refreshes

    @property
    def secrets(self) -> tuple[str, ...]:
        """The cached token, if any."""
        token = self._cache.current
        return (token,) if token else ()

    def __repr__(self) -> str:
        return f"EntraIdAuth(credential={type(self.credential).__name__}, scope={self.scope!r})"


TokenProvider = Callable[[], "str | Awaitable[str]"]


class TokenProviderAuth(Auth):
    """A callable (sync or async) returning a bearer token, called for each request.

    Works with ``azure.identity.get_bearer_token_provider(...)`` and any custom source.
    """

    def __init__(self, provider: TokenProvider) -> None:
        if not callable(provider):
            raise TypeError("provider must be a callable returning a token")
        self.provider = provider
        self._handed_out: tuple[str, ...] = ()  # the last token, once there is one

    async def headers(self, flavor: Flavor) -> dict[str, str]:
        """``Authorization: Bearer <token>`` from the provider.

        A sync provider runs in a worker thread (``get_bearer_token_provider`` may block on
        a network refresh); an async one is awaited.
        """
        if inspect.iscoroutinefunction(self.provider):
            value: object = await self.provider()
        else:
            value = await anyio.to_thread.run_sync(self.provider, abandon_on_cancel=True)
        if inspect.isawaitable(value):
            value = await value
        if not isinstance(value, str) or not value.strip():
            what = "an empty string" if isinstance(value, str) else type(value).__name__
            raise CredentialError(f"the token provider returned {what}, not a token")
        self._handed_out = (value,)
        return {"Authorization": f"Bearer {value}"}

    async def invalidate(self) -> bool:
        """The provider is asked again on the retry, so a retry is worthwhile."""
        return True

    @property
    def secrets(self) -> tuple[str, ...]:
        """The last token handed out."""
        return self._handed_out

    def __repr__(self) -> str:
        return f"TokenProviderAuth(provider={getattr(self.provider, '__name__', 'callable')})"
