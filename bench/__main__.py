"""``python -m bench`` (``make bench``): every ``bench/bench_*.py`` and ``bench/eval_*.py``
module's ``main()``, in turn (speed next to a peer; quality next to a peer).

Each runs with its defaults (run a module directly for its options) and skips, saying why,
when what it measures against is not there. The exit code is 1 if any of them failed.
"""

from __future__ import annotations

import importlib
import sys
import traceback
from pathlib import Path

from rich.console import Console

console = Console()


def main() -> int:
    failed: list[str] = []
    here = Path(__file__).resolve().parent
    for path in sorted([*here.glob("bench_*.py"), *here.glob("eval_*.py")]):
        name = f"bench.{path.stem}"
        console.rule(name)
        sys.argv = [name]
        try:
            code = importlib.import_module(name).main()
        except Exception:
            traceback.print_exc()
            code = 1
        if code:
            failed.append(name)
    if failed:
        console.print(f"[red]failed:[/red] {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
