"""What ``batch`` shows: live progress on stderr, a summary table on stdout."""

from __future__ import annotations

import contextlib
import sys
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._batch import Item
    from ._session import Session

__all__ = ["BatchProgress", "summary"]


class BatchProgress:
    """Live progress on stderr: a rich bar on a terminal, a plain line per event elsewhere."""

    def __init__(self, session: Session, items: list[Item]) -> None:
        self.session = session
        self.total = len(items)
        self.items = items
        self.enabled = not session.quiet
        self._start = time.monotonic()
        self._rich: Any = None
        self._task: Any = None

    def __enter__(self) -> BatchProgress:
        if self.enabled and sys.stderr.isatty():
            with contextlib.suppress(ImportError):
                from rich.console import Console
                from rich.progress import (
                    BarColumn,
                    MofNCompleteColumn,
                    Progress,
                    TextColumn,
                    TimeElapsedColumn,
                )

                self._rich = Progress(TextColumn("batch"), BarColumn(), MofNCompleteColumn(),
                                      TextColumn("{task.fields[detail]}"), TimeElapsedColumn(),
                                      console=Console(file=self.session.stderr))
                self._rich.start()
                self._task = self._rich.add_task("batch", total=self.total,
                                                 completed=self._count("done", "failed"),
                                                 detail=self._detail())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._rich is not None:
            self._rich.stop()

    def _count(self, *statuses: str) -> int:
        return sum(item.status in statuses for item in self.items)

    def _detail(self) -> str:
        failed = self._count("failed", "unfinished")
        return f"{failed} failed" if failed else ""

    def event(self, item: Item, text: str) -> None:
        """Something happened to ``item``."""
        line = f"{item.name}: {text}"
        if self._rich is not None:
            self._rich.console.print(self.session.redact(line), highlight=False)
        elif self.enabled:
            elapsed = time.monotonic() - self._start
            done = self._count("done", "failed", "unfinished")
            self.session.err(f"[{elapsed:6.1f}s] {done}/{self.total} | {line}")

    def finished(self, item: Item) -> None:
        """``item`` reached its end (for this run)."""
        self.event(item, "saved " + str(item.output) if item.status == "done"
                   else f"{item.status}: {item.error}")
        if self._rich is not None:
            self._rich.update(self._task, completed=self._count("done", "failed", "unfinished"),
                              detail=self._detail())


def summary(session: Session, items: list[Item]) -> None:
    """The table at the end (stdout), or the same as JSON."""
    if session.json:
        session.emit_json([{"name": i.name, "line": i.line, "id": i.job_id, "status": i.status,
                            "path": str(i.output) if i.status == "done" else None,
                            "error": i.error} for i in items])
        return
    rows = [(i.name, i.status, i.job_id or "-",
             str(i.output) if i.status == "done" else (i.error or "")) for i in items]
    if sys.stdout.isatty():
        with contextlib.suppress(ImportError):
            from rich.console import Console
            from rich.table import Table

            table = Table("name", "status", "job", "file / error")
            for row in rows:
                table.add_row(*(session.redact(cell) for cell in row))
            Console().print(table)
            return
    widths = [max(len(h), *(len(r[k]) for r in rows)) for k, h in
              enumerate(("NAME", "STATUS", "JOB"))]
    session.out(f"{'NAME':<{widths[0]}}  {'STATUS':<{widths[1]}}  {'JOB':<{widths[2]}}  "
                "FILE / ERROR")
    for name, status, job, what in rows:
        session.out(f"{name:<{widths[0]}}  {status:<{widths[1]}}  {job:<{widths[2]}}  {what}")
    done = sum(i.status == "done" for i in items)
    session.out(f"{done} of {len(items)} done")
