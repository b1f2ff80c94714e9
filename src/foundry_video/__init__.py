"""foundry-video: async Sora video generation on Microsoft Foundry / Azure OpenAI.

Every public name is importable from here. Submodules load on first use, so
``import foundry_video`` stays fast (aiohttp and pydantic load when a name needs them).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    # `X as X` marks re-exports for type checkers (mypy --strict users import from here).
    from ._auth import (
        ApiKeyAuth as ApiKeyAuth,
    )
    from ._auth import (
        Auth as Auth,
    )
    from ._auth import (
        EntraIdAuth as EntraIdAuth,
    )
    from ._auth import (
        Secret as Secret,
    )
    from ._auth import (
        TokenProviderAuth as TokenProviderAuth,
    )
    from ._batch import BatchResult as BatchResult
    from ._client import (
        VideoClient as VideoClient,
    )
    from ._clock import (
        Clock as Clock,
    )
    from ._clock import (
        ManualClock as ManualClock,
    )
    from ._clock import (
        SystemClock as SystemClock,
    )
    from ._errors import (
        APIConnectionError as APIConnectionError,
    )
    from ._errors import (
        APIStatusError as APIStatusError,
    )
    from ._errors import (
        APITimeoutError as APITimeoutError,
    )
    from ._errors import (
        AuthenticationError as AuthenticationError,
    )
    from ._errors import (
        BadRequestError as BadRequestError,
    )
    from ._errors import (
        ConflictError as ConflictError,
    )
    from ._errors import (
        ContentExpiredError as ContentExpiredError,
    )
    from ._errors import (
        ContentPolicyError as ContentPolicyError,
    )
    from ._errors import (
        CredentialError as CredentialError,
    )
    from ._errors import (
        DownloadError as DownloadError,
    )
    from ._errors import (
        FoundryVideoError as FoundryVideoError,
    )
    from ._errors import (
        InternalServerError as InternalServerError,
    )
    from ._errors import (
        JobFailedError as JobFailedError,
    )
    from ._errors import (
        JobTimeoutError as JobTimeoutError,
    )
    from ._errors import (
        NotFoundError as NotFoundError,
    )
    from ._errors import (
        OutputFileError as OutputFileError,
    )
    from ._errors import (
        PermissionDeniedError as PermissionDeniedError,
    )
    from ._errors import (
        RateLimitError as RateLimitError,
    )
    from ._errors import (
        RedirectError as RedirectError,
    )
    from ._errors import (
        UnexpectedResponseError as UnexpectedResponseError,
    )
    from ._errors import (
        UnknownStatusError as UnknownStatusError,
    )
    from ._errors import (
        UnprocessableEntityError as UnprocessableEntityError,
    )
    from ._events import (
        DownloadProgress as DownloadProgress,
    )
    from ._events import (
        DownloadSaved as DownloadSaved,
    )
    from ._events import (
        DownloadStarted as DownloadStarted,
    )
    from ._events import (
        JobCompleted as JobCompleted,
    )
    from ._events import (
        JobEvent as JobEvent,
    )
    from ._events import (
        JobFailed as JobFailed,
    )
    from ._events import (
        JobProgress as JobProgress,
    )
    from ._events import (
        JobQueued as JobQueued,
    )
    from ._job import (
        Job as Job,
    )
    from ._observe import TelemetryOptions as TelemetryOptions
    from ._options import (
        BodyRequestOptions as BodyRequestOptions,
    )
    from ._options import (
        EventHooks as EventHooks,
    )
    from ._options import (
        RequestOptions as RequestOptions,
    )
    from ._options import (
        RetryEvent as RetryEvent,
    )
    from ._pagination import (
        AsyncPager as AsyncPager,
    )
    from ._sync import (
        SyncGenerationJob as SyncGenerationJob,
    )
    from ._sync import (
        SyncGenerationJobs as SyncGenerationJobs,
    )
    from ._sync import (
        SyncJob as SyncJob,
    )
    from ._sync import (
        SyncPager as SyncPager,
    )
    from ._sync import (
        SyncVideoClient as SyncVideoClient,
    )
    from ._sync import (
        SyncVideoJob as SyncVideoJob,
    )
    from ._sync import (
        SyncVideos as SyncVideos,
    )
    from ._transports.base import (
        AsyncByteStream as AsyncByteStream,
    )
    from ._transports.base import (
        AsyncTransport as AsyncTransport,
    )
    from ._transports.base import (
        ByteStream as ByteStream,
    )
    from ._transports.base import (
        Request as Request,
    )
    from ._transports.base import (
        Response as Response,
    )
    from .capabilities import (
        CapabilityTable as CapabilityTable,
    )
    from .capabilities import (
        ModelCapabilities as ModelCapabilities,
    )
    from .capabilities import (
        default_capabilities as default_capabilities,
    )
    from .journal import (
        JobJournal as JobJournal,
    )
    from .journal import (
        JournalEntry as JournalEntry,
    )
    from .models import (
        CropBounds as CropBounds,
    )
    from .models import (
        ErrorDetail as ErrorDetail,
    )
    from .models import (
        ErrorResponse as ErrorResponse,
    )
    from .models import (
        GenerationJobStatus as GenerationJobStatus,
    )
    from .models import (
        ImageReference as ImageReference,
    )
    from .models import (
        InpaintItem as InpaintItem,
    )
    from .models import (
        Video as Video,
    )
    from .models import (
        VideoCharacter as VideoCharacter,
    )
    from .models import (
        VideoDeleted as VideoDeleted,
    )
    from .models import (
        VideoError as VideoError,
    )
    from .models import (
        VideoGeneration as VideoGeneration,
    )
    from .models import (
        VideoGenerationJob as VideoGenerationJob,
    )
    from .models import (
        VideoGenerationJobList as VideoGenerationJobList,
    )
    from .models import (
        VideoList as VideoList,
    )
    from .models import (
        VideoStatus as VideoStatus,
    )
    from .resources.generation_jobs import (
        GenerationJob as GenerationJob,
    )
    from .resources.generation_jobs import (
        GenerationJobs as GenerationJobs,
    )
    from .resources.videos import (
        VideoJob as VideoJob,
    )
    from .resources.videos import (
        Videos as Videos,
    )

_EXPORTS: dict[str, str] = {
    "VideoClient": "._client",
    "Auth": "._auth", "ApiKeyAuth": "._auth", "EntraIdAuth": "._auth",
    "TokenProviderAuth": "._auth", "Secret": "._auth",
    "Clock": "._clock", "ManualClock": "._clock", "SystemClock": "._clock",
    "Job": "._job", "AsyncPager": "._pagination",
    "JobJournal": ".journal", "JournalEntry": ".journal", "BatchResult": "._batch",
    "CapabilityTable": ".capabilities", "ModelCapabilities": ".capabilities",
    "default_capabilities": ".capabilities",
}
_EXPORTS.update(dict.fromkeys((
    "APIConnectionError", "APIStatusError", "APITimeoutError", "AuthenticationError",
    "BadRequestError", "ConflictError", "ContentExpiredError", "ContentPolicyError",
    "CredentialError", "DownloadError", "FoundryVideoError", "InternalServerError",
    "JobFailedError", "JobTimeoutError", "NotFoundError", "OutputFileError",
    "PermissionDeniedError",
    "RateLimitError", "RedirectError", "UnexpectedResponseError", "UnknownStatusError",
    "UnprocessableEntityError"), "._errors"))
_EXPORTS.update(dict.fromkeys((
    "BodyRequestOptions", "EventHooks", "RequestOptions", "RetryEvent"), "._options"))
_EXPORTS["TelemetryOptions"] = "._observe"
_EXPORTS.update(dict.fromkeys((
    "AsyncByteStream", "AsyncTransport", "ByteStream", "Request", "Response"),
    "._transports.base"))
_EXPORTS.update(dict.fromkeys((
    "DownloadProgress", "DownloadSaved", "DownloadStarted", "JobCompleted", "JobEvent",
    "JobFailed", "JobProgress", "JobQueued"), "._events"))
_EXPORTS.update(dict.fromkeys((
    "ErrorDetail", "ErrorResponse", "ImageReference", "Video", "VideoCharacter", "VideoDeleted",
    "VideoError", "VideoList",
    "VideoStatus", "CropBounds", "GenerationJobStatus", "InpaintItem", "VideoGeneration",
    "VideoGenerationJob", "VideoGenerationJobList"), ".models"))
_EXPORTS.update(dict.fromkeys(("GenerationJob", "GenerationJobs"), ".resources.generation_jobs"))
_EXPORTS.update(dict.fromkeys(("VideoJob", "Videos"), ".resources.videos"))
_EXPORTS.update(dict.fromkeys((
    "SyncGenerationJob", "SyncGenerationJobs", "SyncJob", "SyncPager", "SyncVideoJob",
    "SyncVideoClient", "SyncVideos"), "._sync"))

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'foundry_video' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
