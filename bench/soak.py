"""Soak: 100 real-time calls for 10 minutes; does the server leak tasks, sockets or memory?

The load benchmark's setup (bench/load.py: scripted Riva/LLM servers, `voxline serve` measured
alone, Twilio-protocol callers with barge-ins), but each call hangs up after ``--call-s`` and its
line dials again at once, so calls are set up and torn down all along. Every ``--every`` seconds
it prints the server's RSS, open file descriptors, sockets, threads and asyncio tasks (from
/health) with the calls in progress; at the end, the growth from the first sample to the last.

    .venv/bin/python bench/soak.py [--calls 100] [--minutes 10] [--call-s 60] [--every 30]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # bench.harness and tests.fakes

from bench.harness.step import Bench  # noqa: E402
from bench.load import machine, save, table  # noqa: E402

FIELDS = ("t_s", "active_calls", "tasks", "fds", "sockets", "threads", "rss_mb")


def growth(samples: list[dict], after_s: float = 0.0) -> dict:
    """The last sample against the first one taken ``after_s`` into the run: what a leak
    would grow."""
    first = next((s for s in samples if s["t_s"] >= after_s), samples[0])
    last = samples[-1]
    return {
        "tasks": last["tasks"] - first["tasks"],
        "fds": last["fds"] - first["fds"],
        "sockets": last["sockets"] - first["sockets"],
        "rss_mb": round(last["rss_mb"] - first["rss_mb"], 1),
        "rss_pct": round(100 * (last["rss_mb"] / first["rss_mb"] - 1), 1),
        "from_s": first["t_s"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--call-s", type=float, default=60.0, help="each call's length")
    parser.add_argument("--every", type=float, default=30.0, help="seconds between samples")
    parser.add_argument("--out", help="JSON file (default bench/results/soak-<date>.json)")
    args = parser.parse_args(argv)
    info = machine()
    print(
        f"soak: {args.calls} calls for {args.minutes:g} min, each {args.call_s:g} s; "
        f"machine {info['cores']} cores, load {info['load_before']:.2f}",
        flush=True,
    )
    print("  ".join(f"{f:>12}" for f in FIELDS), flush=True)

    def show(row: dict) -> None:
        print("  ".join(f"{row[f]!s:>12}" for f in FIELDS), flush=True)

    with Bench() as bench:
        result = bench.step(
            args.calls,
            args.minutes * 60,
            caller_procs=max(1, -(-args.calls // 150)),
            call_s=args.call_s,
            sample_every=args.every,
            on_sample=show,
        )
    samples = result["samples"]
    change = growth(samples) if len(samples) >= 2 else {}
    # Every line's first call warms up what lives as long as the process (allocator arenas,
    # connection pools, caches): growth after that is what would be a leak.
    warm = growth(samples, args.call_s) if len(samples) >= 2 else {}
    print(f"\ngrowth, first sample -> last: {change}")
    print(f"growth, after every line's first call ({args.call_s:g} s) -> last: {warm}")
    print(f"calls dialled {result['calls_dialled']}, errors {len(result['errors'])}")
    print(table([result]))
    payload = {
        "machine": info,
        "args": vars(args),
        "growth": change,
        "growth_after_warmup": warm,
        "result": result,
    }
    print(f"JSON: {save(payload, args.out, 'soak')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
