"""Re-check mutmut's verdicts: run each named mutant's tests again, alone, in a fresh process.

mutmut runs every mutant in a process forked from the one that ran the suite first, and
stops it on a CPU-time budget; both can turn a surviving mutant into "killed" or "timeout"
(a hang that only happens after a fork, a slow but passing run). This script is the
independent check: for each mutant it runs the tests mutmut recorded as reaching the
mutated function, in ``mutants/`` with ``PYTHONPATH=src`` and ``MUTANT_UNDER_TEST`` set,
with a 60 s limit per test, and prints one line per mutant: the verdict, seconds, tests.

    python scripts/mutation_recheck.py NAME...            # these mutants
    python scripts/mutation_recheck.py --sample 100       # 100 random killed/timed-out ones

Run from the project root after ``mutmut run`` (Python 3.11+, for tomllib); exits 1 if any
re-checked mutant survives.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import tomllib
from mutmut.mutation.data import SourceFileMutationData
from mutmut.stats import status_by_exit_code
from mutmut.utils.file_utils import walk_mutatable_files

MUTANTS = Path("mutants")


def detected_mutants() -> list[str]:
    """Every mutant mutmut counted as killed or timed out."""
    names = []
    for path in walk_mutatable_files():
        data = SourceFileMutationData(path=path)
        data.load()
        names += [name for name, code in data.exit_code_by_key.items()
                  if status_by_exit_code[code] in ("killed", "timeout")]
    return sorted(names)


def recheck(name: str, tests_by_function: dict[str, list[str]], args: list[str]) -> tuple[str, str]:
    """Run ``name``'s tests alone; ``killed`` if they fail, ``SURVIVED`` if they pass."""
    tests = sorted(set(tests_by_function.get(name.rsplit("__mutmut_", 1)[0], [])))
    env = {**os.environ, "PYTHONPATH": "src", "MUTANT_UNDER_TEST": name}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", *args, *tests],
                          cwd=MUTANTS, env=env, capture_output=True, text=True, check=False)
    verdict = "SURVIVED" if done.returncode == 0 else "killed"
    return name, f"{verdict} {time.monotonic() - started:.1f}s {len(tests)} tests"


def main(argv: list[str]) -> int:
    stats = json.loads((MUTANTS / "mutmut-stats.json").read_text())
    config = tomllib.loads(Path("pyproject.toml").read_text())["tool"]["mutmut"]
    args = [arg for arg in config["pytest_add_cli_args"] if not arg.startswith("--timeout")]
    args += ["--timeout=60", "--timeout-method=thread"]
    if argv[:1] == ["--sample"]:
        pool = detected_mutants()
        names = random.Random(0).sample(pool, min(int(argv[1]), len(pool)))
    else:
        names = argv
    survivors = 0
    with ThreadPoolExecutor(4) as workers:
        for name, line in workers.map(
                lambda n: recheck(n, stats["tests_by_mangled_function_name"], args), names):
            survivors += line.startswith("SURVIVED")
            print(name, line, flush=True)
    print(f"{survivors} of {len(names)} re-checked mutants survived")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
