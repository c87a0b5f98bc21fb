"""Print the first ``N`` held-out utterance ids of a speech run (its ``split.json``), space-separated, for the
demo's codec stage.

    python scripts/valid_ids.py runs/demo [-n 8]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def valid_ids(run: Path, n: int) -> list[str]:
    """The first ``n`` ids of ``run/split.json``'s ``valid`` list."""
    return list(json.loads((run / "split.json").read_text())["valid"][:n])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("-n", type=int, default=8)
    args = ap.parse_args()
    print(" ".join(valid_ids(args.run, args.n)))


if __name__ == "__main__":
    main()
