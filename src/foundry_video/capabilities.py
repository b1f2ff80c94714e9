"""Per-model limits (sizes, durations, variants) as data the user can replace.

The official sources disagree on what each model accepts and change over time, so
the limits live in one table, loaded from ``_data/capabilities.json``, instead of
``if`` statements. Users can:

* pass their own table: ``VideoClient(capabilities=CapabilityTable.from_file("limits.json"))``;
* extend the default: ``default_capabilities().with_model("my-deployment", ...)``;
* point ``FOUNDRY_VIDEO_CAPABILITIES`` at a JSON file with the same shape;
* switch validation off: ``VideoClient(validate=False)``.

On Azure the ``model`` is the *deployment name*. Names the table does not know are
not validated against per-model limits (only the generic checks run), and dated
snapshot names such as ``sora-2-pro-2025-10-06`` resolve to their family.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "CapabilityTable",
    "ModelCapabilities",
    "default_capabilities",
]

ApiKind = Literal["videos", "generation_jobs"]
_SNAPSHOT_SUFFIX = re.compile(r"-\d{4}-\d{2}-\d{2}$")
_SIZE = re.compile(r"^([1-9][0-9]{1,4})x([1-9][0-9]{1,4})$")


def parse_size(size: str) -> tuple[int, int]:
    """Return ``(width, height)`` for a ``"WIDTHxHEIGHT"`` string, or raise ``ValueError``."""
    match = _SIZE.match(size)
    if match is None:
        raise ValueError(f"size must look like '1280x720' (width x height), got {size!r}")
    return int(match.group(1)), int(match.group(2))


@dataclass(frozen=True)
class ModelCapabilities:
    """What one model (or deployment) accepts.

    ``None`` for ``sizes`` or ``seconds`` means "any value of the right form".
    """

    api: ApiKind = "videos"
    sizes: frozenset[str] | None = None
    seconds: frozenset[int] | None = None
    default_size: str | None = None
    default_seconds: int | None = None
    variants: frozenset[str] = frozenset({"video", "thumbnail", "spritesheet"})
    audio: bool = True
    max_prompt_chars: int | None = 32000
    input_reference_types: frozenset[str] | None = None
    extension_seconds: frozenset[int] | None = None
    max_variants: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelCapabilities:
        """Build from the JSON shape used by ``capabilities.json``."""

        def opt_set(key: str) -> frozenset[Any] | None:
            value = data.get(key)
            return None if value is None else frozenset(value)

        return cls(
            api=data.get("api", "videos"),
            sizes=opt_set("sizes"),
            seconds=opt_set("seconds"),
            default_size=data.get("default_size"),
            default_seconds=data.get("default_seconds"),
            variants=frozenset(data.get("variants", ("video", "thumbnail", "spritesheet"))),
            audio=bool(data.get("audio", True)),
            max_prompt_chars=data.get("max_prompt_chars", 32000),
            input_reference_types=opt_set("input_reference_types"),
            extension_seconds=opt_set("extension_seconds"),
            max_variants=dict(data.get("max_variants", {})),
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON shape (sorted lists) that :meth:`from_dict` reads."""

        def opt_list(values: frozenset[Any] | None) -> list[Any] | None:
            return None if values is None else sorted(values)

        return {
            "api": self.api,
            "sizes": opt_list(self.sizes),
            "seconds": opt_list(self.seconds),
            "default_size": self.default_size,
            "default_seconds": self.default_seconds,
            "variants": sorted(self.variants),
            "audio": self.audio,
            "max_prompt_chars": self.max_prompt_chars,
            "input_reference_types": opt_list(self.input_reference_types),
            "extension_seconds": opt_list(self.extension_seconds),
            "max_variants": dict(self.max_variants),
        }

    def check_size(self, model: str, size: str) -> None:
        """Raise ``ValueError`` unless ``size`` is well-formed and allowed."""
        parse_size(size)
        if self.sizes is not None and size not in self.sizes:
            allowed = ", ".join(sorted(self.sizes, key=parse_size))
            raise ValueError(f"size {size!r} is not supported by model {model!r}; allowed: {allowed}")

    def check_seconds(self, model: str, seconds: int, *, extension: bool = False) -> None:
        """Raise ``ValueError`` unless ``seconds`` is allowed (for a clip, or an extension)."""
        allowed_set = self.extension_seconds if extension else self.seconds
        if seconds <= 0:
            raise ValueError(f"seconds must be positive, got {seconds}")
        if allowed_set is not None and seconds not in allowed_set:
            allowed = ", ".join(str(s) for s in sorted(allowed_set))
            what = "extension seconds" if extension else "seconds"
            raise ValueError(f"{what}={seconds} is not supported by model {model!r}; allowed: {allowed}")

    def check_prompt(self, prompt: str) -> None:
        """Raise ``ValueError`` for an empty or too long prompt."""
        if not prompt or not prompt.strip():
            raise ValueError("prompt must be a non-empty string")
        if self.max_prompt_chars is not None and len(prompt) > self.max_prompt_chars:
            raise ValueError(
                f"prompt is {len(prompt)} characters; the limit is {self.max_prompt_chars}"
            )

    def check_variant(self, model: str, variant: str) -> None:
        """Raise ``ValueError`` unless the content ``variant`` exists for this model."""
        if variant not in self.variants:
            allowed = ", ".join(sorted(self.variants))
            raise ValueError(f"variant {variant!r} is not available for {model!r}; allowed: {allowed}")

    def check_variant_count(self, model: str, size: str, n_variants: int) -> None:
        """Raise ``ValueError`` when ``n_variants`` exceeds the cap for ``size`` (Sora 1)."""
        if n_variants < 1:
            raise ValueError(f"n_variants must be at least 1, got {n_variants}")
        cap = self.max_variants.get(size)
        if cap is not None and n_variants > cap:
            raise ValueError(
                f"n_variants={n_variants} is too many for {size} on {model!r}; the limit is {cap}"
            )


GENERIC = ModelCapabilities()
"""Limits applied to a model name the table does not know: only the generic checks."""


class CapabilityTable(Mapping[str, ModelCapabilities]):
    """An immutable mapping from model or deployment name to :class:`ModelCapabilities`."""

    def __init__(self, models: Mapping[str, ModelCapabilities]) -> None:
        self._models = dict(models)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CapabilityTable:
        """Build from ``{"models": {name: {...}}}`` (the ``capabilities.json`` shape)."""
        models = data.get("models", data)
        return cls({name: ModelCapabilities.from_dict(spec) for name, spec in models.items()
                    if not name.startswith("_")})

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> CapabilityTable:
        """Load a JSON file of the ``capabilities.json`` shape."""
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON shape, e.g. to save an edited copy."""
        return {"models": {name: caps.to_dict() for name, caps in self._models.items()}}

    def with_model(
        self, name: str, capabilities: ModelCapabilities | str | None = None, **changes: Any
    ) -> CapabilityTable:
        """Return a copy with ``name`` added or replaced.

        ``capabilities`` may be another model's name to alias it (``with_model("my-deploy",
        "sora-2")``); keyword ``changes`` then override single fields
        (``with_model("sora-2", "sora-2", seconds=frozenset({4, 8}))``).
        """
        if isinstance(capabilities, str):
            base = self.resolve(capabilities)
            if base is None:
                raise KeyError(f"unknown model {capabilities!r}")
        else:
            base = capabilities or self._models.get(name, GENERIC)
        models = dict(self._models)
        models[name] = replace(base, **changes) if changes else base
        return CapabilityTable(models)

    def resolve(self, model: str) -> ModelCapabilities | None:
        """Return the limits for ``model``: exact name, else its dated snapshot's family."""
        caps = self._models.get(model)
        if caps is None:
            family = _SNAPSHOT_SUFFIX.sub("", model)
            caps = self._models.get(family) if family != model else None
        return caps

    def __getitem__(self, model: str) -> ModelCapabilities:
        caps = self.resolve(model)
        if caps is None:
            raise KeyError(model)
        return caps

    def __iter__(self) -> Iterator[str]:
        return iter(self._models)

    def __len__(self) -> int:
        return len(self._models)

    def __repr__(self) -> str:
        return f"CapabilityTable({sorted(self._models)})"


@lru_cache(maxsize=1)
def _builtin_table() -> CapabilityTable:
    text = resources.files("foundry_video").joinpath("_data/capabilities.json").read_text("utf-8")
    return CapabilityTable.from_dict(json.loads(text))


def default_capabilities() -> CapabilityTable:
    """The table in effect by default: ``FOUNDRY_VIDEO_CAPABILITIES`` if set, else the built-in."""
    override = os.environ.get("FOUNDRY_VIDEO_CAPABILITIES")
    if override:
        return CapabilityTable.from_file(override)
    return _builtin_table()
