"""foundry-video: async Sora video generation on Microsoft Foundry / Azure OpenAI.

Every public name is importable from here. Submodules load on first use, so
``import foundry_video`` stays fast (aiohttp and pydantic load when a name needs them).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from ._auth import ApiKeyAuth, Auth, EntraIdAuth, Secret, TokenProviderAuth
    from ._client import VideoClient
    from ._clock import Clock, ManualClock, SystemClock
    from ._errors import (
        APIConnectionError,
        APIStatusError,
        APITimeoutError,
        AuthenticationError,
        BadRequestError,
        ConflictError,
        ContentExpiredError,
        ContentPolicyError,
        DownloadError,
        FoundryVideoError,
        InternalServerError,
        JobFailedError,
        JobTimeoutError,
        NotFoundError,
        PermissionDeniedError,
        RateLimitError,
        UnexpectedResponseError,
        UnknownStatusError,
        UnprocessableEntityError,
    )
    from ._events import (
        DownloadProgress,
        DownloadSaved,
        DownloadStarted,
        JobCompleted,
        JobEvent,
        JobFailed,
        JobProgress,
        JobQueued,
    )
    from ._job import Job
    from ._pagination import AsyncPager
    from .capabilities import CapabilityTable, ModelCapabilities, default_capabilities
    from .models import (
        CropBounds,
        ErrorDetail,
        ErrorResponse,
        GenerationJobStatus,
        ImageReference,
        InpaintItem,
        Video,
        VideoCharacter,
        VideoDeleted,
        VideoError,
        VideoGeneration,
        VideoGenerationJob,
        VideoGenerationJobList,
        VideoList,
        VideoStatus,
    )
    from .resources.generation_jobs import GenerationJob, GenerationJobs

_EXPORTS: dict[str, str] = {
    "VideoClient": "._client",
    "Auth": "._auth", "ApiKeyAuth": "._auth", "EntraIdAuth": "._auth",
    "TokenProviderAuth": "._auth", "Secret": "._auth",
    "Clock": "._clock", "ManualClock": "._clock", "SystemClock": "._clock",
    "Job": "._job", "AsyncPager": "._pagination",
    "CapabilityTable": ".capabilities", "ModelCapabilities": ".capabilities",
    "default_capabilities": ".capabilities",
}
_EXPORTS.update(dict.fromkeys((
    "APIConnectionError", "APIStatusError", "APITimeoutError", "AuthenticationError",
    "BadRequestError", "ConflictError", "ContentExpiredError", "ContentPolicyError",
    "DownloadError", "FoundryVideoError", "InternalServerError", "JobFailedError",
    "JobTimeoutError", "NotFoundError", "PermissionDeniedError", "RateLimitError",
    "UnexpectedResponseError", "UnknownStatusError", "UnprocessableEntityError"), "._errors"))
_EXPORTS.update(dict.fromkeys((
    "DownloadProgress", "DownloadSaved", "DownloadStarted", "JobCompleted", "JobEvent",
    "JobFailed", "JobProgress", "JobQueued"), "._events"))
_EXPORTS.update(dict.fromkeys((
    "ErrorDetail", "ErrorResponse", "ImageReference", "Video", "VideoCharacter", "VideoDeleted",
    "VideoError", "VideoList",
    "VideoStatus", "CropBounds", "GenerationJobStatus", "InpaintItem", "VideoGeneration",
    "VideoGenerationJob", "VideoGenerationJobList"), ".models"))
_EXPORTS.update(dict.fromkeys(("GenerationJob", "GenerationJobs"), ".resources.generation_jobs"))

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
