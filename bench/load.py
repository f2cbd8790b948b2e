"""How many real-time phone calls one Voxline process holds, and what each costs.

Three kinds of processes share the machine: the scripted model servers (Riva-protocol ASR/TTS
and an OpenAI-compatible LLM, tests/fakes), the server under test (`voxline serve`, Riva ASR and
TTS, the pizza bot with the LLM agent, recordings off), and the callers (Twilio Media Streams
over real WebSockets, 20 ms frames in real time, marks echoed, barge-ins). For each N the server
is started afresh and measured alone with psutil.

Scripted delays (bench/harness/scenario.py): ASR final 320 ms of silence after the speech +
100 ms; LLM first token 300 ms, then 50 tokens/s; TTS first chunk 150 ms.

Figures per N:

- added: reply latency minus the scripted delays on its critical path. Reply latency = first
  reply audio frame received by the caller - last frame of the caller's speech sent. Critical
  path = 320 + 100 ms (ASR) + 300 ms (LLM first token) + the tokens of the reply's first clause
  at 50 tokens/s ("Sure, " = 2 tokens, +20 ms) + 150 ms (TTS first chunk) = 890 ms. What is
  left is Voxline's own time (and the WebSocket hops), including any wait for more text than
  the first clause before starting TTS.
- barge-in: first `clear` received - first frame of the caller's speech over the bot sent.
- missed: caller lines with no reply within 5 s; underruns: reply frames that arrived after the
  caller's playback buffer had run dry (> 20 ms) while the bot's turn was going on, and of
  those, how many came right after a segment's mark (the next segment was late) rather than
  inside a segment.
- server CPU % of one core per call, RSS with N calls up, (RSS - idle RSS) / N.

Callers send -60 dBFS hiss when not talking, as a phone line does, not digital zeros.

    .venv/bin/python bench/load.py [--calls 1,10,50,100,200] [--servers 1,2] [--seconds 60]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # bench.harness and tests.fakes

import psutil  # noqa: E402

from bench.harness.step import Bench  # noqa: E402

COLUMNS = (
    ("procs", 5),
    ("calls", 5),
    ("turns", 6),
    ("added p50/p95/max ms", 21),
    ("barge-in p50/p95 ms", 20),
    ("missed", 6),
    ("underruns (between segments)", 28),
    ("CPU %/call", 10),
    ("RSS MB", 7),
    ("MB/call", 7),
    ("callers CPU %", 13),
)


def _fmt(*values) -> str:
    return "/".join("-" if v is None else f"{v:.0f}" for v in values)


def row(r: dict) -> list[str]:
    a, b = r["added_ms"], r["barge_in_ms"]
    return [
        str(r.get("servers", 1)),
        str(r["calls"]),
        str(r["turns"]),
        _fmt(a["p50"], a["p95"], a["max"]),
        _fmt(b["p50"], b["p95"]),
        f"{r['missed_turns']}+{r['missed_barge_ins']}",
        f"{r['underruns']} ({r.get('underruns_between_segments', '-')})",
        f"{r['server_cpu_pct_per_call']:.2f}",
        f"{r['server_rss_mb']:.0f}",
        f"{r['server_mb_per_call']:.2f}",
        f"{r['callers_cpu_pct']:.0f}",
    ]


def table(results: list[dict]) -> str:
    head = " | ".join(name.ljust(w) for name, w in COLUMNS)
    lines = [head, "-|-".join("-" * w for _, w in COLUMNS)]
    for r in results:
        lines.append(" | ".join(v.ljust(w) for v, (_, w) in zip(row(r), COLUMNS, strict=True)))
    return "\n".join(lines)


def machine() -> dict:
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
        "load_before": os.getloadavg()[0],
    }


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", default="1,10,50,100,200", help="comma-separated N values")
    parser.add_argument("--seconds", type=float, default=60.0, help="measured time per N")
    parser.add_argument("--repeat", type=int, default=1, help="runs per N (to see the spread)")
    parser.add_argument(
        "--caller-procs", type=int, default=0, help="caller processes (default: one per 150 calls)"
    )
    parser.add_argument(
        "--profile",
        help="py-spy the server over each step: collapsed stacks written to PROFILE-<N>.txt",
    )
    parser.add_argument(
        "--servers",
        default="1",
        help="server processes per step, comma-separated to run each N with each (1,2: one "
        "process, then one per core)",
    )
    parser.add_argument(
        "--stop-calls",
        type=int,
        default=0,
        help="last, SIGTERM the servers (the last --servers count) with this many calls live "
        "as the scripted backends are killed: exit code and time against VOXLINE_DRAIN_S + 5 s",
    )
    parser.add_argument("--recordings", action="store_true", help="record every call (WAV)")
    parser.add_argument("--work", help="keep the server logs and clips in this directory")
    parser.add_argument("--out", help="JSON file (default bench/results/load-<date>.json)")
    args = parser.parse_args(argv)
    counts = [int(c) for c in args.calls.split(",") if c.strip()]
    fleets = [int(k) for k in args.servers.split(",") if k.strip()]
    info = machine()
    print(
        f"machine: {info['cpu']}, {info['cores']} cores, {info['memory_gb']} GB, "
        f"Python {info['python']}, load {info['load_before']:.2f}",
        flush=True,
    )
    results = []
    work = Path(args.work) if args.work else None
    with Bench(work=work, recordings=args.recordings) as bench:
        print(
            f"critical path (scripted delays): {1000 * bench.delays.critical_path_s():.0f} ms; "
            f"caller line {bench.speech_s['turn']:.2f} s, barge-in line "
            f"{bench.speech_s['barge']:.2f} s",
            flush=True,
        )
        steps = [(k, n) for k in fleets for n in counts for _ in range(args.repeat)]
        for k, n in steps:
            procs = args.caller_procs or max(1, -(-n // 150))
            profile = Path(f"{args.profile}-{k}x{n}.txt") if args.profile else None
            r = bench.step(n, args.seconds, caller_procs=procs, profile=profile, servers=k)
            results.append(r)
            print(table([r]).splitlines()[-1] if len(results) > 1 else table([r]), flush=True)
            if r["errors"]:
                print(f"  errors: {r['errors']}", flush=True)
        stop = None
        if args.stop_calls:
            stop = bench.stop_under_load(args.stop_calls, servers=fleets[-1])
            print(f"stop with {stop['live_at_signal']} calls live, backends killed: "
                  f"{stop['exits']} (bound {stop['bound_s']} s)", flush=True)  # fmt: skip
    print()
    print(table(results))
    payload = {
        "recordings": args.recordings,
        "machine": info,
        "delays": vars(bench.delays),
        "seconds": args.seconds,
        "results": results,
        "stop": stop,
    }
    print(f"\nJSON: {save(payload, args.out, 'load')}")
    return 0


def save(payload: dict, out: str | None, kind: str) -> Path:
    """The figures as JSON, by default in bench/results/<kind>-<date>.json."""
    path = Path(out or ROOT / "bench" / "results" / f"{kind}-{time.strftime('%Y%m%d-%H%M')}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return path


if __name__ == "__main__":
    sys.exit(main())
