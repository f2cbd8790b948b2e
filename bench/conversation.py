"""The conversation bench: both shipped suites in full, through `voxline test`.

Runs ``voxline test bots/pizza`` and ``voxline test bots/rag`` (each starts its own server with
the bot's own settings and the embedded models), keeps their JSON documents in
``bench/results/conversation-<bot>-<stamp>.json`` and prints one table of the totals, with the
concurrency the calls ran at. Several calls at once share the 2 cores with the server, so the
reply latency at ``--concurrency 2`` is a little worse than one call alone would see; compare
runs made at the same concurrency on the same machine kind.

    python bench/conversation.py [--concurrency N] [--only SUBSTR] [--bots pizza,rag] [--tag T]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from voxline.testbench.report import fmt_ms as ms
from voxline.testbench.report import fmt_rate as pct

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def run_suite(
    bot_dir: Path, concurrency: int, only: list[str], out: Path, env: dict[str, str] | None = None
) -> dict:
    """``voxline test`` on the bot folder; ``env``: for the server it starts (its backends)."""
    cmd = [sys.executable, "-m", "voxline", "test", str(bot_dir), "--json", str(out)]
    cmd += ["--concurrency", str(concurrency)]
    for o in only:
        cmd += ["--only", o]
    started = time.monotonic()
    done = subprocess.run(cmd, cwd=ROOT, check=False, env={**os.environ, **(env or {})})
    if not out.is_file():
        raise SystemExit(f"voxline test {bot_dir} wrote no results (exit {done.returncode})")
    doc = json.loads(out.read_text(encoding="utf-8"))
    doc["wall_s"] = round(time.monotonic() - started)
    return doc


def table(docs: dict[str, dict]) -> str:
    rows = [
        "| bot | scenarios passed | task success | order accuracy | reply p50 / p95 ms "
        "| false stops on backchannels | cut-offs (in pauses) | barge-in heard-stop p50 / p95 ms "
        "| caller WER | final transcript after speech end p50 / p95 ms | wall |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for bot, doc in docs.items():
        t = doc["totals"]
        lat, stop = t["reply_latency_ms"], t["barge_in_heard_stop_ms"]
        fin = t.get("final_after_speech_end_ms") or {"p50": None, "p95": None}
        rows.append(
            f"| {bot} | {t['passed']}/{t['scenarios']} | {pct(t['task_success'])} "
            f"| {pct(t['order_accuracy'])} | {ms(lat['p50'])} / {ms(lat['p95'])} "
            f"| {pct(t['false_stops_on_backchannels'])} | {pct(t['cut_offs'])} "
            f"({pct(t['cut_offs_in_pauses'])}) | {ms(stop['p50'])} / {ms(stop['p95'])} "
            f"| {t['caller_wer']} | {ms(fin['p50'])} / {ms(fin['p95'])} | {doc['wall_s']} s |"
        )
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--concurrency", type=int, default=2)
    ap.add_argument("--only", action="append", default=[])
    ap.add_argument("--bots", default="pizza,rag")
    ap.add_argument("--tag", default="", help="a label for the result files (before/after)")
    args = ap.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M") + (f"-{args.tag}" if args.tag else "")
    docs = {}
    for bot in args.bots.split(","):
        out = RESULTS / f"conversation-{bot}-{stamp}.json"
        docs[bot] = run_suite(ROOT / "bots" / bot, args.concurrency, args.only, out)
    first = next(iter(docs.values()))
    machine = first["machine"]
    print(
        f"\nconversation bench {stamp}: {machine['cpu']}, {machine['cores']} cores, "
        f"{args.concurrency} calls at once"
    )
    print(table(docs))


if __name__ == "__main__":
    main()
