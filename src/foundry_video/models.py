"""Typed models of the wire shapes (pydantic v2).

Models keep unknown fields the service adds (``extra="allow"``) so a newer service does
not break an older SDK; known fields are typed and timestamps become aware datetimes.
"""

from __future__ import annotations

from datetime import datetime, timezone
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "ImageReference",
    "Video",
    "VideoCharacter",
    "VideoDeleted",
    "VideoError",
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
        return datetime.fromtimestamp(value, tz=timezone.utc)
    return value


class VideoError(_Model):
    """Why a video job failed: the service's ``code`` and ``message``."""

    code: str | None = None
    message: str | None = None
    param: str | None = None
    type: str | None = None


class Video(_Model):
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
