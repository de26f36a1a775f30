"""The long hostile run: mutated specs, Argo CD environments, values files and random bytes
through every verb, until the time is up (tests/hostile.py says what counts as a finding).

    python benchmarks/hostile.py [--minutes 10] [--seed N]

Prints each distinct finding with the command that produced it; exits 1 when there is one.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import hostile  # tests/ holds the harness the test suite runs too


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args()
    rng = random.Random(args.seed)
    deadline = time.monotonic() + args.minutes * 60
    rounds, findings = 0, []
    with tempfile.TemporaryDirectory() as scratch:
        while time.monotonic() < deadline:
            findings += hostile.hostile_round(Path(scratch), rng)
            rounds += 1
    distinct = sorted(set(findings))
    print(f"seed {args.seed}: {rounds} rounds, {len(distinct)} distinct findings")
    for finding in distinct:
        print(f"- {finding}")
    return 1 if distinct else 0


if __name__ == "__main__":
    sys.exit(main())
