"""Fuzz campaign: the validator on thousands of mutated manifests (`make fuzz`).

The mutations of the test suite's fuzzer (tests/hostile/mutations.py), run
many more times: rendered overlays and rule fixtures with hostile values,
aliases and merge keys, deep nesting, non-finite numbers, control characters
and flipped bytes, through every stage and every output format. Prints inputs
tried, documents, crashes, rule-crashed findings, ill-formed outputs, runs
over 5 s and the peak memory of the process (which bounds every run's); exits
1 if any of them is found, and writes each failing input to .fuzz-failures/.

Usage: python benchmarks/fuzz_validate.py [--documents 5000] [--seed 1] [--profile default]
"""

from __future__ import annotations

import argparse
import random
import resource
import signal
import sys
import time
import traceback
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # the mutations live with the tests that use them

from raygitops.schema.store import SchemaStore  # noqa: E402
from tests.hostile.mutations import mutated_stream, run_once, seeds  # noqa: E402

SLOW_S = 5.0
MEMORY_LIMIT_MB = 500
HANG_S = 60  # a run this long is stopped and counted as a crash
FAILURES = REPO_ROOT / ".fuzz-failures"


class _Hang(Exception):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise _Hang(f"no result within {HANG_S} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=5000, help="stop after this many documents (default 5000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", choices=("default", "prod"), default="default")
    args = parser.parse_args()

    store = SchemaStore.open()
    rng = random.Random(args.seed)
    seed_texts = seeds()
    signal.signal(signal.SIGALRM, _alarm)
    inputs = documents = rule_crashed = 0
    crashes: list[str] = []
    malformed: list[str] = []
    slow: list[float] = []
    slowest = 0.0
    started = time.perf_counter()
    while documents < args.documents:
        text = mutated_stream(seed_texts, rng)
        inputs += 1
        began = time.perf_counter()
        signal.alarm(HANG_S)
        try:
            outcome = run_once(text, store, args.profile)
        except BaseException as exc:  # noqa: BLE001 - a crash of any kind is what the campaign looks for
            if isinstance(exc, KeyboardInterrupt):
                raise
            crashes.append(f"{type(exc).__name__}: {exc}"[:300])
            _keep(inputs, text, traceback.format_exc())
            documents += 1
            continue
        finally:
            signal.alarm(0)
        elapsed = time.perf_counter() - began
        slowest = max(slowest, elapsed)
        documents += max(outcome.documents, 1)
        rule_crashed += len(outcome.rule_crashed)
        if outcome.rule_crashed:
            _keep(inputs, text, "\n".join(outcome.rule_crashed))
        if outcome.malformed:
            malformed.extend(outcome.malformed)
            _keep(inputs, text, f"ill-formed output: {', '.join(outcome.malformed)}")
        if elapsed > SLOW_S:
            slow.append(elapsed)
            _keep(inputs, text, f"took {elapsed:.1f} s")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"inputs tried:        {inputs} ({documents} documents, seed {args.seed}, {time.perf_counter() - started:.0f} s)")
    print(f"crashes:             {len(crashes)}")
    for crash in crashes[:5]:
        print(f"  {crash}")
    print(f"rule-crashed:        {rule_crashed}")
    print(f"ill-formed outputs:  {len(malformed)}")
    print(f"runs over {SLOW_S:.0f} s:      {len(slow)} (slowest {slowest:.2f} s)")
    print(f"peak memory:         {peak_mb:.0f} MB (the process's; bounds every run)")
    failed = crashes or rule_crashed or malformed or slow or peak_mb > MEMORY_LIMIT_MB
    if failed:
        print(f"failing inputs: {FAILURES}/")
    return 1 if failed else 0


def _keep(number: int, text: str, why: str) -> None:
    FAILURES.mkdir(exist_ok=True)
    (FAILURES / f"input-{number}.yaml").write_bytes(text.encode("utf-8", errors="surrogateescape"))
    (FAILURES / f"input-{number}.txt").write_text(why)


if __name__ == "__main__":
    sys.exit(main())
