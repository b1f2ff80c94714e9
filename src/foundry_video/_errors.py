"""The exception tree. Everything the SDK raises on purpose derives from FoundryVideoError."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "ContentExpiredError",
    "ContentPolicyError",
    "CredentialError",
    "DownloadError",
    "FoundryVideoError",
    "InternalServerError",
    "JobFailedError",
    "JobTimeoutError",
    "NotFoundError",
    "OutputFileError",
    "PermissionDeniedError",
    "RateLimitError",
    "RedirectError",
    "UnexpectedResponseError",
    "UnknownStatusError",
    "UnprocessableEntityError",
]


class FoundryVideoError(Exception):
    """Base class of every error raised by foundry-video.

    ``job_id`` is set on any error raised while working on a job, so the job can be resumed.
    """

    job_id: str | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only constructors defeat Exception's default pickling; errors must cross
        # process boundaries (Celery, Ray, Dask, multiprocessing) intact.
        return (_rebuild, (type(self), self.args, self.__dict__))


def _rebuild(cls: type[FoundryVideoError], args: tuple[Any, ...],
             state: dict[str, Any]) -> FoundryVideoError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class APIConnectionError(FoundryVideoError):
    """The request did not get a complete HTTP response (DNS, refused, reset, dropped)."""

    def __init__(self, message: str = "Connection error.", *, request_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.request_id = request_id


class APITimeoutError(APIConnectionError):
    """The request timed out before a complete response arrived."""

    def __init__(self, message: str = "Request timed out.", *, request_id: str | None = None) -> None:
        super().__init__(message, request_id=request_id)


class RedirectError(FoundryVideoError):
    """A redirect the SDK refused to follow: https to http, a non-http(s) location, too many
    hops, or a create that would have become a GET. ``status_code`` is the redirect's status.

    Nothing was sent to the location (its URL in the message has no query string)."""

    def __init__(self, message: str, *, status_code: int | None = None,
                 request_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.request_id = request_id


class CredentialError(FoundryVideoError):
    """The client's credentials could not produce a key or token: the token provider or
    credential raised (the original exception is ``__cause__``), returned nothing usable,
    or did not answer within the request timeout. No request was sent."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class APIStatusError(FoundryVideoError):
    """The service answered with a 4xx or 5xx status.

    Attributes mirror the service's error envelope: ``code``, ``message``, ``param``,
    ``type``, plus ``status_code``, ``request_id`` and the parsed ``body``.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        code: str | None = None,
        param: str | None = None,
        type: str | None = None,
        request_id: str | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.message = message
        self.status_code = status_code
        self.code = code
        self.param = param
        self.type = type
        self.request_id = request_id
        self.body = body
        self.headers: Mapping[str, str] = {k.lower(): v for k, v in (headers or {}).items()}
        super().__init__(self._describe())

    @property
    def detail(self) -> Any:
        """The body as a typed :class:`~foundry_video.ErrorDetail` (``None`` if not JSON)."""
        from .models import ErrorDetail

        body = self.body
        if isinstance(body, dict):
            inner = body.get("error", body)
            if isinstance(inner, dict):
                return ErrorDetail.model_validate(inner)
        return None

    def _describe(self) -> str:
        parts = [f"Error {self.status_code}"]
        if self.code:
            parts.append(f"({self.code})")
        text = " ".join(parts) + f": {self.message}"
        if self.request_id:
            text += f" [request id: {self.request_id}]"
        return text


class BadRequestError(APIStatusError):
    """HTTP 400: the service rejected the request's parameters."""


class AuthenticationError(APIStatusError):
    """HTTP 401: missing, invalid or expired key or token."""


class PermissionDeniedError(APIStatusError):
    """HTTP 403: the identity lacks access (e.g. a missing RBAC role)."""


class NotFoundError(APIStatusError):
    """HTTP 404: unknown video, job, generation or deployment."""


class ConflictError(APIStatusError):
    """HTTP 409: the resource is not in a state that allows the operation."""


class UnprocessableEntityError(APIStatusError):
    """HTTP 422."""


class RateLimitError(APIStatusError):
    """HTTP 429: rate limit or quota exceeded. ``retry_after`` holds the server's hint in seconds."""

    @property
    def retry_after(self) -> float | None:
        """The delay the service asked for, in seconds, when it sent one."""
        from ._wire import retry_after_seconds

        return retry_after_seconds(self.headers)


class ContentPolicyError(BadRequestError):
    """The request was blocked by content filtering / moderation (Responsible AI policy).

    ``categories`` maps each filtered category (``hate``, ``violence``, ...) to its result.
    """

    @property
    def categories(self) -> dict[str, Any]:
        """The filter results the service returned, keyed by category (may be empty)."""
        from ._wire import content_filter_results

        return content_filter_results(self.body)


class InternalServerError(APIStatusError):
    """HTTP 5xx: the service failed."""


class UnexpectedResponseError(APIStatusError):
    """A success status whose body is not what the API documents (e.g. HTML, bad JSON)."""


class JobFailedError(FoundryVideoError):
    """The job ended ``failed`` (or ``cancelled``). Carries the service's code and message."""

    def __init__(
        self,
        job_id: str,
        *,
        code: str | None,
        message: str | None,
        status: str = "failed",
        job: Any = None,
    ) -> None:
        self.job_id = job_id
        self.code = code
        self.message = message
        self.status = status
        self.job = job
        detail = f"{code}: {message}" if code else (message or "no reason given")
        super().__init__(f"Job {job_id} {status}: {detail}")

    @property
    def is_content_policy(self) -> bool:
        """True when the failure reason looks like moderation / content policy."""
        text = f"{self.code or ''} {self.message or ''}".lower()
        return any(word in text for word in ("moderation", "content_policy", "content_filter",
                                             "policy", "responsibleai"))


class JobTimeoutError(FoundryVideoError, TimeoutError):
    """The caller's ``timeout`` ran out. The job goes on remotely: resume it with ``job_id``."""

    def __init__(self, job_id: str, timeout: float, *, last_status: str | None = None,
                 resume_with: str = "client.videos.job") -> None:
        self.job_id = job_id
        self.timeout = timeout
        self.last_status = last_status
        super().__init__(
            f"Job {job_id} did not finish within {timeout:g}s (last status: {last_status}); "
            f"it continues on the service: resume with {resume_with}({job_id!r})"
        )


class UnknownStatusError(FoundryVideoError):
    """The service reported a job status this SDK does not know; polling stops instead of spinning."""

    def __init__(self, job_id: str, status: str) -> None:
        self.job_id = job_id
        self.status = status
        super().__init__(f"Job {job_id} has unknown status {status!r}; refusing to guess")


class DownloadError(FoundryVideoError):
    """The content could not be downloaded intact. No partial file is left at the target."""

    def __init__(self, message: str, *, job_id: str | None = None,
                 request_id: str | None = None) -> None:
        self.job_id = job_id
        self.request_id = request_id
        text = message + (f" [request id: {request_id}]" if request_id else "")
        super().__init__(text)


class OutputFileError(FoundryVideoError, OSError):
    """The result could not be written to the local file: a directory in the way, no
    permission, a read-only volume, a full disk. Checked before the job is created or
    polled where possible; raised later (with ``job_id``, so the job can be downloaded again)
    when the disk fails mid-download. Also an ``OSError`` (``errno`` is set)."""

    def __init__(self, message: str, *, path: object = None, job_id: str | None = None,
                 errno: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = None if path is None else str(path)
        self.job_id = job_id
        self.errno = errno

    def __reduce__(self) -> tuple[Any, ...]:
        # errno lives in OSError's C slot, not in __dict__: carry it explicitly.
        return (_rebuild_output_error, (type(self), self.message, self.path, self.job_id,
                                        self.errno))


def _rebuild_output_error(cls: type[OutputFileError], message: str, path: str | None,
                          job_id: str | None, errno: int | None) -> OutputFileError:
    return cls(message, path=path, job_id=job_id, errno=errno)


class ContentExpiredError(DownloadError):
    """The job's downloadable assets have expired (``expires_at`` passed)."""


_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def status_error_class(status: int) -> type[APIStatusError]:
    """Map an HTTP status to its exception class."""
    if status >= 500:
        return InternalServerError
    return _STATUS_CLASSES.get(status, APIStatusError)
