"""``fraudguard bench-fuzz``: a million hostile messages through the stream and API decoders."""

from __future__ import annotations

import time

import typer

from fraudguard.cli.app import app
from fraudguard.cli.common import clean_errors, console


@app.command("bench-fuzz")
@clean_errors
def bench_fuzz(
    count: int = typer.Option(1_000_000, "--count", min=1, help="Number of inputs to generate."),
    seed: int = typer.Option(0, "--seed", help="Seed of the input generator (runs are reproducible)."),
) -> None:
    """Check that no input makes a decoder raise: every message is accepted or rejected with a reason.

    Exit code 1 when any input escaped as an exception (the traceback names it).
    """
    from fraudguard.bench.fuzz import run_fuzz

    t0 = time.perf_counter()
    totals = run_fuzz(count, seed)
    elapsed = time.perf_counter() - t0
    console.print(
        f"fuzzed {totals['inputs']:,} inputs in {elapsed:.1f}s: stream accepted {totals['accepted']:,}, "
        f"rejected {totals['rejected']:,}; API accepted {totals['api_accepted']:,}, "
        f"rejected {totals['api_rejected']:,}; 0 exceptions"
    )
