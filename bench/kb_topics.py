"""The knowledge bot's recognition with and without its documents' topics in whisper's prompt.

Every caller line of the rag suite (``bots/rag/tests``, three words or more) in its scenario's
voice and two more of the bench's voices, telephone band, 8 kHz, transcribed whole by the
server's whisper engine with the prompt a call would give it after the greeting: the bot's
example sentence alone, then with ``Ask about <topics>.`` (``kb/topics.py``) added, and then
with the topics also among the words whisper's hypotheses are favoured for. Printed side by
side in one run: WER, content words of the line missed, time per line p50/p95.

    python bench/kb_topics.py [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from voxline.bot import load_bot  # noqa: E402
from voxline.function_words import FUNCTION_WORDS  # noqa: E402
from voxline.speech.base import RecognizerHints  # noqa: E402
from voxline.speech.whisper import WhisperEngine, utterance_prompt  # noqa: E402
from voxline.testbench.scenario import load_suite  # noqa: E402
from voxline.testbench.voices import VoiceRenderer, spoken_text  # noqa: E402
from voxline.testbench.words import normalize, word_errors  # noqa: E402

VOICES = ("espeak-m", "awb", "kokoro-kumo", "rms-low", "slt-fast", "espeak-gb", "kal",
          "kokoro-alpha", "slt", "espeak-f")  # fmt: skip


def corpus() -> list[tuple[str, str]]:
    lines: list[tuple[str, str]] = []
    for sc in load_suite(ROOT / "bots" / "rag"):
        for voice, text in sc.lines():
            if len(text.split()) >= 3:
                others = [v for v in VOICES if v != voice][len(lines) % 5 :][:2]
                lines += [(v, text) for v in (voice, *others)]
    return list(dict.fromkeys(lines))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    bot = load_bot(ROOT / "bots" / "rag")
    plain = RecognizerHints(phrases=bot.vocabulary, example=bot.example)
    variants = {
        "example only": plain,
        "+ topics in the prompt": RecognizerHints(
            phrases=bot.vocabulary, example=bot.example, topics=bot.topics
        ),
        "+ topics favoured too": RecognizerHints(
            phrases=(*bot.vocabulary, *bot.topics), example=bot.example, topics=bot.topics
        ),
    }
    lines = corpus()
    render = VoiceRenderer(ROOT / "var" / "cache" / "voices")
    pcms = [render.render(v, t).pcm for v, t in lines]
    engine = WhisperEngine(workers=1)
    print(f"{len(lines)} lines; topics: {', '.join(bot.topics)}")
    rows = {}
    for name, hints in variants.items():
        errors = words = missed = content = 0
        times = []
        for (_, text), pcm in zip(lines, pcms, strict=True):
            prompt = utterance_prompt(hints, False, bot.greeting)
            start = time.perf_counter()
            heard = engine.transcribe(pcm, 8000, prompt, (), hints.phrases)
            times.append(time.perf_counter() - start)
            ref = spoken_text(text)
            e, n = word_errors(ref, heard)
            errors, words = errors + e, words + n
            meant = [w for w in normalize(ref) if w not in FUNCTION_WORDS and len(w) > 2]
            got = set(normalize(heard))
            missed, content = missed + sum(w not in got for w in meant), content + len(meant)
        rows[name] = {
            "wer": round(errors / words, 3),
            "content_missed": missed,
            "content_words": content,
            "p50_ms": round(float(np.percentile(times, 50)) * 1000),
            "p95_ms": round(float(np.percentile(times, 95)) * 1000),
        }
        r = rows[name]
        print(
            f"{name:24s} WER {r['wer']:.3f}  content words missed {missed}/{content}  "
            f"p50 {r['p50_ms']} ms  p95 {r['p95_ms']} ms",
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps({"lines": len(lines), "variants": rows}, indent=1))


if __name__ == "__main__":
    main()
