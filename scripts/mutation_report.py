"""The mutation score per module, and every mutant the tests did not kill, from the last
``mutmut run`` (run from the project root; see docs/contributing.md).

    python scripts/mutation_report.py             # the score table (Markdown)
    python scripts/mutation_report.py --survivors # and each surviving mutant's diff
                                                  # (Markdown: docs/mutation-survivors.md)

A mutant that made the tests time out counts as killed (the suite noticed); one that no
test reaches ("no tests") counts as a survivor. Reads mutmut's own result files, so it
follows mutmut 3.x (pinned in the ``mutation`` extra).
"""

from __future__ import annotations

import math
import sys
from collections import Counter

from mutmut.mutation.data import SourceFileMutationData
from mutmut.mutation.diff_apply import get_diff_for_mutant
from mutmut.stats import status_by_exit_code
from mutmut.utils.file_utils import walk_mutatable_files

DETECTED = {"killed", "timeout", "caught by type check"}


def _percent(part: int, whole: int) -> str:
    """Rounded down, so 3319 of 3320 reads 99.9 %, not 100.0 %."""
    return f"{math.floor(1000 * part / whole) / 10:.1f}%"


def main(show_survivors: bool) -> int:
    rows: list[tuple[str, int, int, Counter[str]]] = []
    survivors: list[tuple[str, str, str]] = []
    for path in walk_mutatable_files():
        data = SourceFileMutationData(path=path)
        data.load()
        statuses = Counter(status_by_exit_code[code] for code in data.exit_code_by_key.values())
        detected = sum(n for status, n in statuses.items() if status in DETECTED)
        rows.append((str(path).removeprefix("src/"), detected, sum(statuses.values()), statuses))
        for name, code in sorted(data.exit_code_by_key.items()):
            status = status_by_exit_code[code]
            if status not in DETECTED:
                survivors.append((name, status, get_diff_for_mutant(name, path=path)
                                  if show_survivors else ""))
    if not rows:
        print("no mutmut results: run `mutmut run` first", file=sys.stderr)
        return 1
    print("| module | mutants | killed | timed out | detected | score | not detected |")
    print("|---|---:|---:|---:|---:|---:|---|")
    total_detected = total = total_timeouts = 0
    for module, detected, count, statuses in sorted(rows):
        total_detected, total = total_detected + detected, total + count
        total_timeouts += statuses["timeout"]
        rest = ", ".join(f"{n} {s}" for s, n in sorted(statuses.items()) if s not in DETECTED)
        print(f"| `{module}` | {count} | {detected - statuses['timeout']} | "
              f"{statuses['timeout']} | {detected} | {_percent(detected, count)} | {rest} |")
    print(f"| **total** | **{total}** | **{total_detected - total_timeouts}** | "
          f"**{total_timeouts}** | **{total_detected}** | "
          f"**{_percent(total_detected, total)}** | |")
    for name, status, diff in survivors if show_survivors else ():
        changed = [line for line in diff.splitlines()
                   if line[:1] in "+-" and not line.startswith(("+++", "---"))]
        body = "\n".join(f"    {line}" for line in changed)
        print(f"\n* `{name}` ({status})\n\n    ```diff\n{body}\n    ```")
    return 0


if __name__ == "__main__":
    sys.exit(main("--survivors" in sys.argv[1:]))
