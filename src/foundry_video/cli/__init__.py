"""The ``foundry-video`` command line.

``foundry-video generate "A neon city at night" --emulator -o demo.mp4`` runs the whole
create → poll → download flow on the emulator; without ``--emulator`` it uses
``AZURE_OPENAI_ENDPOINT`` with ``AZURE_OPENAI_API_KEY``/``--api-key`` or ``--entra``.
Each command is a small function registered on its own sub-parser (``_commands``,
``_batch``, ``_emulator``); :mod:`._session` holds what they share (redacted output, the
client, resume hints) and :mod:`._main` turns every failure into one line and an exit
code: 0 ok, 1 error, 2 usage or setup, 130 interrupted.
"""

from ._main import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, main
from ._parser import build_parser

__all__ = ["EXIT_ERROR", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "build_parser", "main"]
