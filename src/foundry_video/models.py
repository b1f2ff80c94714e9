"""Typed models of the wire shapes (pydantic v2).

Models keep unknown fields the service adds (``extra="allow"``) so a newer service does
not break an older SDK; known fields are typed and timestamps become aware datetimes.
"""

from __future__ import annotations

from datetime import datetime, timezone
from enum import Enum
from typing import Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from ._display import RichDisplay

__all__ = [
    "CropBounds",
    "ErrorDetail",
    "ErrorResponse",
    "GenerationJobStatus",
    "GenerationVariant",
    "ImageReference",
    "InpaintItem",
    "Video",
    "VideoCharacter",
    "VideoDeleted",
    "VideoError",
    "VideoGeneration",
    "VideoGenerationJob",
    "VideoGenerationJobList",
    "VideoList",
    "VideoStatus",
    "VideoVariant",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=False)


class VideoStatus(str, Enum):
    """Lifecycle status of a Sora 2 video job."""

    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"

    def __str__(self) -> str:
        return self.value


VideoVariant = Literal["video", "thumbnail", "spritesheet"]
"""Downloadable assets of a completed video: MP4, WebP thumbnail, JPEG spritesheet."""

VARIANT_SUFFIX: dict[str, str] = {"video": ".mp4", "thumbnail": ".webp", "spritesheet": ".jpg"}


def _to_datetime(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            # Raised as ValueError so pydantic reports it as a validation error.
            raise ValueError(f"timestamp {value!r} is out of range") from None
    return value


class VideoError(_Model):
    """Why a video job failed: the service's ``code`` and ``message``."""

    code: str | None = None
    message: str | None = None
    param: str | None = None
    type: str | None = None


class Video(RichDisplay, _Model):
    """A Sora 2 video job as the Videos API returns it."""

    id: str
    object: str = "video"
    model: str | None = None
    status: str
    """One of :class:`VideoStatus` (kept as ``str`` so an unknown status is reported, not rejected)."""
    progress: int | None = None
    created_at: datetime | None = None
    completed_at: datetime | None = None
    expires_at: datetime | None = None
    prompt: str | None = None
    size: str | None = None
    seconds: str | None = None
    remixed_from_video_id: str | None = None
    error: VideoError | None = None

    _to_dt = field_validator("created_at", "completed_at", "expires_at", mode="before")(
        _to_datetime)

    @field_validator("seconds", mode="before")
    @classmethod
    def _seconds_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("progress", mode="before")
    @classmethod
    def _progress_as_int(cls, value: Any) -> Any:
        return round(value) if isinstance(value, float) else value

    @property
    def known_status(self) -> VideoStatus | None:
        """The status as an enum, or ``None`` when the service sent one this SDK does not know."""
        try:
            return VideoStatus(self.status)
        except ValueError:
            return None

    @property
    def width(self) -> int | None:
        """Width in pixels parsed from ``size``."""
        return _size_part(self.size, 0)

    @property
    def height(self) -> int | None:
        """Height in pixels parsed from ``size``."""
        return _size_part(self.size, 1)

    @property
    def duration(self) -> float | None:
        """``seconds`` as a number."""
        try:
            return float(self.seconds) if self.seconds is not None else None
        except ValueError:
            return None


def _size_part(size: str | None, index: int) -> int | None:
    if not size or "x" not in size:
        return None
    try:
        return int(size.split("x")[index])
    except ValueError:
        return None


class VideoList(_Model):
    """One page of ``GET /videos``."""

    object: str = "list"
    data: list[Video] = Field(default_factory=list)
    first_id: str | None = None
    last_id: str | None = None
    has_more: bool = False


class VideoDeleted(_Model):
    """Result of ``DELETE /videos/{id}``."""

    id: str
    object: str = "video.deleted"
    deleted: bool = True


class VideoCharacter(_Model):
    """A character (cameo) created from an uploaded video."""

    id: str | None = None
    name: str | None = None
    created_at: datetime | None = None

    _to_dt = field_validator("created_at", mode="before")(_to_datetime)


class ImageReference(_Model):
    """An ``input_reference`` given by URL (or data URL) or uploaded file id, sent as JSON."""

    image_url: str | None = None
    file_id: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ImageReference:
        if (self.image_url is None) == (self.file_id is None):
            raise ValueError("give exactly one of image_url or file_id")
        return self


# -- Sora 1: the Azure OpenAI preview video generation jobs API -------------------------


class GenerationJobStatus(str, Enum):
    """Lifecycle status of a Sora 1 video generation job."""

    PREPROCESSING = "preprocessing"
    QUEUED = "queued"
    RUNNING = "running"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    def __str__(self) -> str:
        return self.value


GenerationVariant = Literal["video", "thumbnail"]
"""Downloadable assets of a Sora 1 generation: the MP4 and its JPEG thumbnail."""

GENERATION_VARIANT_SUFFIX: dict[str, str] = {"video": ".mp4", "thumbnail": ".jpg"}


class CropBounds(_Model):
    """The part of an input image or video to use, as fractions of its width and height.

    The default is the whole media. Each fraction is between 0 and 1, with
    ``left_fraction < right_fraction`` and ``top_fraction < bottom_fraction``.
    """

    left_fraction: float = Field(default=0.0, ge=0.0, le=1.0)
    top_fraction: float = Field(default=0.0, ge=0.0, le=1.0)
    right_fraction: float = Field(default=1.0, ge=0.0, le=1.0)
    bottom_fraction: float = Field(default=1.0, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _ordered(self) -> CropBounds:
        if self.left_fraction >= self.right_fraction:
            raise ValueError("left_fraction must be less than right_fraction")
        if self.top_fraction >= self.bottom_fraction:
            raise ValueError("top_fraction must be less than bottom_fraction")
        return self


class InpaintItem(_Model):
    """An input image or video placed in the output at ``frame_index`` (Sora 1).

    ``file_name`` must equal the name of one of the files sent with the job; ``type`` is
    ``"image"`` or ``"video"`` (kept as ``str`` so a newer service value still parses).
    """

    frame_index: int = Field(default=0, ge=0)
    type: str = "image"
    file_name: str
    crop_bounds: CropBounds | None = None


class VideoGeneration(_Model):
    """One output video (a "generation") of a Sora 1 job."""

    id: str
    object: str = "video.generation"
    job_id: str | None = None
    created_at: datetime | None = None
    width: int | None = None
    height: int | None = None
    n_seconds: int | None = None
    prompt: str | None = None

    _to_dt = field_validator("created_at", mode="before")(_to_datetime)


class VideoGenerationJob(RichDisplay, _Model):
    """A Sora 1 video generation job as the preview jobs API returns it."""

    id: str
    object: str = "video.generation.job"
    status: str
    """One of :class:`GenerationJobStatus` (kept as ``str`` so an unknown status is reported)."""
    created_at: datetime | None = None
    finished_at: datetime | None = None
    expires_at: datetime | None = None
    generations: list[VideoGeneration] = Field(default_factory=list)
    prompt: str | None = None
    model: str | None = None
    n_variants: int | None = None
    n_seconds: int | None = None
    height: int | None = None
    width: int | None = None
    inpaint_items: list[InpaintItem] | None = None
    failure_reason: str | None = None

    _to_dt = field_validator("created_at", "finished_at", "expires_at", mode="before")(
        _to_datetime)

    @field_validator("generations", mode="before")
    @classmethod
    def _null_generations(cls, value: Any) -> Any:
        return [] if value is None else value

    @field_validator("failure_reason", mode="before")
    @classmethod
    def _reason_as_text(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return value.get("code") or value.get("message") or str(value)
        return value

    @property
    def known_status(self) -> GenerationJobStatus | None:
        """The status as an enum, or ``None`` when the service sent one this SDK does not know."""
        try:
            return GenerationJobStatus(self.status)
        except ValueError:
            return None

    @property
    def size(self) -> str | None:
        """``"WIDTHxHEIGHT"``, when both are known."""
        if self.width is None or self.height is None:
            return None
        return f"{self.width}x{self.height}"


class VideoGenerationJobList(_Model):
    """One page of ``GET /video/generations/jobs``."""

    object: str = "list"
    data: list[VideoGenerationJob] = Field(default_factory=list)
    first_id: str | None = None
    last_id: str | None = None
    has_more: bool = False


class ErrorDetail(_Model):
    """The ``error`` object of an error response (OpenAI and Azure shapes).

    Azure spells the nested details ``inner_error`` or ``innererror``; both land in
    :attr:`inner_error`.
    """

    message: str | None = None
    type: str | None = None
    param: str | None = None
    code: str | None = None
    inner_error: dict[str, Any] | None = Field(
        default=None, validation_alias=AliasChoices("inner_error", "innererror"))

    @field_validator("code", "param", "type", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        # Azure sends some codes as numbers in JSON ("code": 401 in older gateways).
        return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
            else value


class ErrorResponse(_Model):
    """An error response body: ``{"error": {...}}``."""

    error: ErrorDetail

