"""The conversation bench on the Riva stack: the bot's default turn mode against ``final``.

The server runs with ``VOXLINE_ASR=riva`` against the Riva-protocol test server
(``tests/fakes/riva_server.py``) with its endpointing driven by the caller's audio (energy per
10 ms frame; interim after ``stop_history_eou`` = 240 ms of silence, final after
``stop_history`` = 800 ms, as the bot's config asks) and its words heard from that audio by
the embedded whisper with the bot's vocabulary (``hear``): partials every 250 ms of speech, the
interim and the final on the utterance so far. Recognition is thus whisper's, not a Riva
model's; what this measures is the turn-taking over Riva's protocol and endpointing: reply
latency, cut-offs, barge-ins and false stops, in the bot's own mode (interim: the reply
prepared at 240 ms, heard once the turn reads as complete) and in ``final`` mode, on the same
scenarios, voices and machine. TTS is the embedded voice in both runs.

    python bench/riva_stack.py [--bot pizza] [--only SUBSTR] [--concurrency 2] [--tag T]
        [--modes interim,final]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.fakes: the Riva-protocol test server

from conversation import RESULTS, run_suite, table  # noqa: E402

from tests.fakes.riva_server import FakeRivaServer  # noqa: E402
from voxline.bot import load_bot  # noqa: E402
from voxline.speech.base import RecognizerHints  # noqa: E402
from voxline.speech.whisper import WhisperEngine, whisper_prompt  # noqa: E402

PARTIAL_MS = 250  # Riva sends partials more often; each one here costs a whisper pass
THRESHOLD_DBFS = -40.0  # over the bench's line hiss (-42 dBFS and quieter), under its speech


class RivaThread:
    """The Riva-protocol test server in its own event loop, hearing with whisper."""

    def __init__(self, bot_dir: Path) -> None:
        bot = load_bot(bot_dir)
        prompt = whisper_prompt(RecognizerHints(phrases=bot.vocabulary, example=bot.example))
        engine = WhisperEngine(workers=2)
        self.server = FakeRivaServer(
            hear=lambda pcm, rate: engine.transcribe(pcm, rate, prompt, (), bot.vocabulary),
            partial_ms=PARTIAL_MS,
            threshold_dbfs=THRESHOLD_DBFS,
            record_audio=False,
        )
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> str:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self._loop).result(30)
        return self.server.target

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


def in_mode(bot_dir: Path, mode: str, into: Path) -> Path:
    """A copy of the bot folder whose turns run in ``mode``."""
    copy = into / f"{bot_dir.name}-{mode}"
    shutil.copytree(bot_dir, copy)
    config = copy / "bot.yaml"
    doc = yaml.safe_load(config.read_text(encoding="utf-8"))
    doc.setdefault("turns", {})["mode"] = mode
    config.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return copy


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bot", default="pizza")
    ap.add_argument("--only", action="append", default=[])
    ap.add_argument("--concurrency", type=int, default=2)
    ap.add_argument("--tag", default="")
    ap.add_argument("--modes", default="", help="comma-separated (default: the bot's, final)")
    args = ap.parse_args()
    bot_dir = ROOT / "bots" / args.bot
    modes = args.modes.split(",") if args.modes else [load_bot(bot_dir).turns.mode, "final"]
    stamp = time.strftime("%Y%m%d-%H%M") + (f"-{args.tag}" if args.tag else "")
    docs = {}
    with RivaThread(bot_dir) as target, tempfile.TemporaryDirectory() as tmp:
        env = {"VOXLINE_ASR": "riva", "VOXLINE_RIVA_SERVER": target, "VOXLINE_TTS": "embedded"}
        for mode in dict.fromkeys(modes):
            out = RESULTS / f"riva-{args.bot}-{mode}-{stamp}.json"
            folder = in_mode(bot_dir, mode, Path(tmp))
            docs[f"{args.bot}, Riva, {mode}"] = run_suite(
                folder, args.concurrency, args.only, out, env
            )
    print(f"\nRiva-stack bench {stamp}: {args.concurrency} calls at once")
    print(table(docs))


if __name__ == "__main__":
    main()
