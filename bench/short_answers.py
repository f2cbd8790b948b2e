"""Short answers to the bot's questions, heard with and without the question's options.

Every voice of the bench says one-word answers to the pizza bot's questions ("Small." to "What
size would you like? Small, medium or large.") and lines that answer with none of the options
("Um.", "Do you deliver?", "No, that's all."). Each goes through whisper as the call prompts
it, once free and once as the call hears it: with the options the question named
(``speech/choices.py``), the bot's words and its slots' places. Printed:
answers heard right free and with options, options forced on lines that named none, and the
time per line; per voice and in total.

    python bench/short_answers.py [--json FILE]
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
from voxline.speech.base import RecognizerHints  # noqa: E402
from voxline.speech.choices import utterance_options  # noqa: E402
from voxline.speech.hypotheses import utterance_vocabulary  # noqa: E402
from voxline.speech.whisper import WhisperEngine, utterance_prompt  # noqa: E402
from voxline.testbench.voices import VOICES, VoiceRenderer  # noqa: E402
from voxline.testbench.words import normalize  # noqa: E402

RATE = 8000
SIZE = "Sure. What size would you like? Small, medium or large."
CRUST = (
    "Got it, a large pepperoni pizza. Which crust would you like, thin, regular, thick or stuffed?"
)
TOPPINGS = "Got it, a large pizza. Which toppings would you like? We have pepperoni, mushrooms, sausage, onions, and more."  # noqa: E501
READ_BACK = (
    "So that's a large ham pizza on thick crust, 18 dollars and 49 cents. Shall I place the order?"
)
CHECK = "Got it, a large pizza on thick crust. Did you say ham?"
# (the bot's question, the caller's line, the option it means or "" for none)
LINES = [
    *((SIZE, f"{w.capitalize()}.", w) for w in ("small", "medium", "large")),
    (SIZE, "Large, please.", "large"),
    *((CRUST, f"{w.capitalize()}.", w) for w in ("thin", "regular", "thick", "stuffed")),
    *((CRUST, f"{w.capitalize()} crust.", w) for w in ("thin", "regular", "thick", "stuffed")),
    *((TOPPINGS, f"{w.capitalize()}.", w) for w in ("pepperoni", "mushrooms", "onions")),
    (READ_BACK, "Yes.", "yes"),
    (READ_BACK, "No.", "no"),
    (READ_BACK, "Yes please.", "yes"),
    (CHECK, "Yes.", "yes"),
    (SIZE, "What toppings do you have?", ""),
    (SIZE, "Um.", ""),
    (SIZE, "Mm-hmm.", ""),
    (CRUST, "Hmm, let me think.", ""),
    (CRUST, "What do you have?", ""),
    (CRUST, "What crusts do you have?", ""),
    (CRUST, "Which crust is the cheapest?", ""),
    (TOPPINGS, "No, that's all.", ""),
    (READ_BACK, "How much is it?", ""),
    (READ_BACK, "Do you deliver?", ""),
    (READ_BACK, "Can I get it delivered?", ""),
    (READ_BACK, "Hang on.", ""),
    (SIZE, "Whatever's cheapest.", ""),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    bot = load_bot(ROOT / "bots" / "pizza")
    hints = RecognizerHints(phrases=bot.vocabulary, example=bot.example, places=bot.places)
    renderer = VoiceRenderer(ROOT / "var" / "cache" / "voices")
    engine = WhisperEngine(workers=1)
    rows: dict[str, dict] = {}
    for voice in VOICES:
        for question, line, meant in LINES:
            pcm = renderer.render(voice, line).pcm
            prompt = utterance_prompt(hints, False, question)
            options = utterance_options(hints, False, question)
            vocabulary = utterance_vocabulary(hints, False, options)
            t0 = time.perf_counter()
            free = engine.transcribe(pcm, RATE, prompt)
            t1 = time.perf_counter()
            chosen = engine.transcribe(pcm, RATE, prompt, options, vocabulary, "", bot.places)
            t2 = time.perf_counter()
            for key in (voice, "all"):
                g = rows.setdefault(key, {"answers": 0, "free_right": 0, "right": 0, "others": 0,
                                          "forced": 0, "free_s": [], "choice_s": [],
                                          "changes": []})  # fmt: skip
                g["free_s"].append(t1 - t0)
                g["choice_s"].append(t2 - t1)
                if meant:
                    g["answers"] += 1
                    g["free_right"] += meant in normalize(free)
                    g["right"] += meant in normalize(chosen)
                else:
                    g["others"] += 1
                    g["forced"] += chosen != free
                if chosen != free and key == "all":
                    g["changes"].append(f"{voice}: {line!r} heard {free!r} -> {chosen!r}")
    print(f"\n{'voice':<15}{'answers':>8}{'right free':>11}{'with options':>13}"
          f"{'others':>7}{'forced':>7}{'free p50 ms':>12}{'options p50 ms':>15}")  # fmt: skip
    for key, g in rows.items():
        print(
            f"{key:<15}{g['answers']:>8}{g['free_right']:>11}{g['right']:>13}{g['others']:>7}"
            f"{g['forced']:>7}{1000 * np.median(g['free_s']):>12.0f}"
            f"{1000 * np.median(g['choice_s']):>15.0f}"
        )
    for change in rows["all"]["changes"]:
        print(f"    {change}")
    if args.json:
        doc = {
            "date": time.strftime("%Y-%m-%d %H:%M"),
            "voices": {
                k: {**{x: y for x, y in g.items() if not x.endswith("_s")},
                    "free_p50_ms": 1000 * float(np.median(g["free_s"])),
                    "options_p50_ms": 1000 * float(np.median(g["choice_s"]))}
                for k, g in rows.items()
            },
        }  # fmt: skip
        args.json.write_text(json.dumps(doc, indent=1))


if __name__ == "__main__":
    main()
