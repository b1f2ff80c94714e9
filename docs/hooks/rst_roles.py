"""MkDocs hook: render reStructuredText roles left in docstrings as inline code.

The SDK's docstrings use Sphinx roles (``:class:`Job```, ``:meth:`~foundry_video.Job.wait```)
so they read well in ``help()``. In Markdown those come out as ``:class:<code>Job</code>``;
this hook drops the role and the ``~`` prefix convention (last component only). It also
tidies the ``::`` that introduces a literal block in reStructuredText.
"""

from __future__ import annotations

import re
from typing import Any

_LONE_LITERAL_MARKER = re.compile(r"<p>::</p>\s*")
_LITERAL_MARKER = re.compile(r"(?<=\S)::</p>")
_ROLE = re.compile(r":(?:class|meth|func|mod|attr|exc|data|obj|const):<code>(~?)([^<]+)</code>")


def _replace(match: re.Match[str]) -> str:
    tilde, target = match.groups()
    if tilde:
        target = target.rsplit(".", 1)[-1]
    return f"<code>{target}</code>"


def on_page_content(html: str, **kwargs: Any) -> str:
    """Rewrite the page's HTML after Markdown (and mkdocstrings) rendering."""
    html = _ROLE.sub(_replace, html)
    html = _LONE_LITERAL_MARKER.sub("", html)
    return _LITERAL_MARKER.sub(":</p>", html)
