"""Progress curves: how an emulated job's ``progress`` rises while it is ``in_progress``.

The service promises nothing about the shape of ``progress``, so the emulator can play
several, and a client can be tested against each. A curve maps the fraction of the run
that has elapsed (0 to 1) to the fraction of the work done (0 to 1); the emulator
reports ``int(100 * curve(elapsed))``, at most 99 until the job is terminal.

The default is ``"s-curve"`` (slow start, steady middle, slow end), not ``"linear"``: a
client tuned to linear progress should be caught by the default setting.
"""

from __future__ import annotations

import math
from collections.abc import Callable

__all__ = ["DEFAULT_PROGRESS_CURVE", "PROGRESS_CURVES", "ProgressCurve", "resolve_curve"]

ProgressCurve = Callable[[float], float]
"""Fraction of the run elapsed (0-1) -> fraction of the work done (0-1)."""


def _linear(elapsed: float) -> float:
    return elapsed


def _stuck(elapsed: float) -> float:
    return 0.0


def _accelerating(elapsed: float) -> float:
    return elapsed**3


def _decelerating(elapsed: float) -> float:
    return math.sqrt(elapsed)


def _steps(elapsed: float) -> float:
    return math.floor(elapsed * 4) / 4


def _s_curve(elapsed: float) -> float:
    return elapsed * elapsed * (3 - 2 * elapsed)


PROGRESS_CURVES: dict[str, ProgressCurve] = {
    "s-curve": _s_curve,
    "linear": _linear,
    "stuck": _stuck,
    "accelerating": _accelerating,
    "decelerating": _decelerating,
    "steps": _steps,
}
"""The named curves: ``"s-curve"`` (smoothstep, the default), ``"linear"``, ``"stuck"`` (0
until the job ends), ``"accelerating"`` (``t**3``), ``"decelerating"`` (``sqrt(t)``) and
``"steps"`` (jumps to 25, 50 and 75 %)."""

DEFAULT_PROGRESS_CURVE = "s-curve"


def resolve_curve(curve: str | ProgressCurve) -> ProgressCurve:
    """The curve named ``curve`` (or ``curve`` itself when it is a function).

    Raises ``ValueError`` for an unknown name.
    """
    if callable(curve):
        return curve
    try:
        return PROGRESS_CURVES[curve]
    except KeyError:
        raise ValueError(f"unknown progress curve {curve!r}; choose one of "
                         f"{', '.join(PROGRESS_CURVES)} or pass a function") from None
