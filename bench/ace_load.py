"""How many calls one process holds when an ACE bot's Colang 2 flows lead the dialog.

bench/load.py's scenario (its scripted Riva and LLM servers, callers, figures) with the bot
swapped for an ACE bot folder: Voxline's speech.co in mode "final" and a main.co that greets,
then sends each transcript through InvokeStreamingChatAction / StreamingResponseChatAction to an
in-process plugin serving the bench's pizza bot with the LLM agent (plugin_config.yaml
``bot:``, which keeps the conversation itself). So every reply crosses the Colang runtime
(one event cycle per UMIM event), ACE's /chat stream and its sentence re-splitting; "added" is
measured against the same critical path as bench/load.py, so the difference between the two
tables is what the Colang layer costs.

    .venv/bin/python bench/ace_load.py [--calls 1,10,50] [--seconds 30]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # bench.harness and tests.fakes

from bench.harness.scenario import Delays  # noqa: E402
from bench.harness.step import Bench  # noqa: E402
from bench.load import machine, save, table  # noqa: E402

MAIN_CO = """\
import core

flow main
  activate handle user transcript with interruption $mode="final" $stop_flows_list=["_bot_say","answer"]
  bot say "{greeting}"
  activate reply
  wait indefinitely

flow reply
  user partially said something as $ref
  answer $ref.transcript

flow answer $transcript
  $started = await InvokeStreamingChatAction(question=$transcript,endpoint="chat/chat")
  if $started
    $response = await StreamingResponseChatAction(endpoint="chat/chat")
    while $response
      bot say $response
      $response = await StreamingResponseChatAction(endpoint="chat/chat")
"""


def colang_bot(dest: Path, pizza: Path, delays: Delays) -> Path:
    """An ACE bot folder whose plugin is the bench's pizza bot (LLM agent)."""
    greeting = yaml.safe_load((pizza / "bot.yaml").read_text())["greeting"].replace('"', "'")
    (dest / "colang").mkdir(parents=True, exist_ok=True)
    (dest / "bot_config.yaml").write_text('bot: bench\ncolang_version: "2.x"\nmodels: []\n')
    (dest / "colang" / "main.co").write_text(MAIN_CO.format(greeting=greeting))
    shutil.copy(ROOT / "src" / "voxline" / "ace" / "speech.co", dest / "colang" / "speech.co")
    speech = {"riva_asr": {"RivaASR": {"endpointing_stop_history": delays.asr_stop_ms,
                                       "endpointing_stop_history_eou": 0}}}  # fmt: skip
    (dest / "speech_config.yaml").write_text(yaml.safe_dump(speech))
    plugins = {"plugins": [{"name": "chat", "bot": str(pizza), "agent": "llm"}]}
    (dest / "plugin_config.yaml").write_text(yaml.safe_dump(plugins))
    return dest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", default="1,10,50", help="comma-separated N values")
    parser.add_argument("--seconds", type=float, default=30.0, help="measured time per N")
    parser.add_argument("--work", help="keep the server logs and the bot in this directory")
    parser.add_argument("--out", help="JSON file (default bench/results/ace-load-<date>.json)")
    args = parser.parse_args(argv)
    info = machine()
    print(f"machine: {info['cpu']}, {info['cores']} cores, load {info['load_before']:.2f}")
    results = []
    with Bench(work=Path(args.work) if args.work else None) as bench:
        bench.bot = colang_bot(bench.work / "ace_bot", bench.bot, bench.delays)
        for n in [int(c) for c in args.calls.split(",") if c.strip()]:
            r = bench.step(n, args.seconds, caller_procs=max(1, -(-n // 150)))
            results.append(r)
            print(table([r]).splitlines()[-1] if len(results) > 1 else table([r]), flush=True)
            if r["errors"]:
                print(f"  errors: {r['errors']}", flush=True)
    print()
    print(table(results))
    payload = {"bot": "ace colang", "machine": info, "delays": vars(bench.delays),
               "seconds": args.seconds, "results": results}  # fmt: skip
    print(f"\nJSON: {save(payload, args.out, 'ace-load')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
