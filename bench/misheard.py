"""What the embedded recognizer hears of callers' lines: the misheard corpus for the dialog tests.

Each caller line is spoken by flite (voices slt and rms) and espeak-ng (en-us), taken through
the phone line (8 kHz, G.711 mu-law and back) and transcribed by faster-whisper tiny.en the way
``voxline.speech.whisper`` does it, with the bot's vocabulary as the prompt. The transcripts go
to ``tests/data/misheard.json`` ({bot: {line: {voice: heard}}}); the unit tests of the pizza and
knowledge bots feed them to the agents. Audio is not kept.

    .venv/bin/python bench/misheard.py            # regenerate every line (a few minutes)
    .venv/bin/python bench/misheard.py --new      # only lines not in the file yet
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "data" / "misheard.json"

from voxline.audio import MULAW_RATE, pcm_to_ulaw, read_wav, resample, ulaw_to_pcm  # noqa: E402
from voxline.bot import load_bot  # noqa: E402
from voxline.speech.whisper import WhisperEngine  # noqa: E402

PIZZA = [
    "I'd like a large pepperoni pizza",
    "Can I get a medium mushroom pizza on thin crust",
    "a small ham and pineapple pizza with stuffed crust",
    "a large pizza on a thin crust",
    "two large, one ham and pineapple, one bacon",
    "a large pepperoni and a small mushroom pizza",
    "thin crust",
    "thick crust please",
    "regular",
    "stuffed crust",
    "medium",
    "large",
    "small please",
    "pepperoni and mushrooms",
    "no toppings",
    "just cheese",
    "add onions",
    "can you add black olives",
    "take off the mushrooms",
    "no onions please",
    "without the ham",
    "actually make it a medium",
    "No, no, actually, make it a medium",
    "change the crust to thick",
    "Actually, can you change that to a thick crust instead?",
    "cancel my order",
    "please cancel the order",
    "start over",
    "Can you read my order back to me?",
    "what did I order",
    "what sizes do you have",
    "what toppings do you have",
    "which crusts do you have",
    "what's on the menu",
    "how much is a large pizza",
    "how much is that",
    "what's the total",
    "do you have anchovies",
    "can I get chicken on it",
    "an extra large please",
    "sorry?",
    "say that again",
    "can you repeat that",
    "that's all",
    "no that's it thanks",
    "goodbye",
    "yes",
    "yes please",
    "yeah that's right",
    "correct",
    "no",
    "nope, that's wrong",
]
RAG = [
    "Do you have parking for trucks?",
    "When do you close on weekdays?",
    "And on Sundays?",
    "What time do you open on Saturday?",
    "When do you close on Thursdays?",
    "How much does the Kestrel cost?",
    "And the Heron?",
    "Is the warranty transferable?",
    "Can I bring my dog to the showroom?",
    "Who founded the company?",
]
ZIP = [
    "nine four one one oh",
    "my zip code is nine four one one zero",
    "nine four one one zero",
    "it's one oh zero zero one",
]
VOICES = {
    "flite-slt": ["flite", "-voice", "slt", "-t", "{text}", "-o", "{wav}"],
    "flite-rms": ["flite", "-voice", "rms", "-t", "{text}", "-o", "{wav}"],
    "espeak-en-us": ["espeak-ng", "-v", "en-us", "-w", "{wav}", "{text}"],
}


def phone_line(pcm: bytes, rate: int) -> bytes:
    """What reaches the server from a phone: 8 kHz mu-law, decoded."""
    return ulaw_to_pcm(pcm_to_ulaw(resample(pcm, rate, MULAW_RATE)))


def render(voice: str, text: str, tmp: Path) -> tuple[bytes, int]:
    wav = tmp / "line.wav"
    cmd = [a.format(text=text, wav=wav) for a in VOICES[voice]]
    subprocess.run(cmd, check=True, capture_output=True)
    return read_wav(wav.read_bytes())


def main(only_new: bool) -> None:
    corpus: dict[str, dict[str, dict[str, str]]] = (
        json.loads(OUT.read_text()) if only_new and OUT.is_file() else {}
    )
    engine = WhisperEngine(workers=1)
    prompts = {
        "pizza": ", ".join(load_bot(ROOT / "bots/pizza").vocabulary[:40]),
        "rag": ", ".join(load_bot(ROOT / "bots/rag").vocabulary[:40]),
        "zip": "",
    }
    with tempfile.TemporaryDirectory() as tmp:
        for bot, lines in (("pizza", PIZZA), ("rag", RAG), ("zip", ZIP)):
            heard = corpus.setdefault(bot, {})
            for line in lines:
                if line in heard:
                    continue
                heard[line] = {}
                for voice in VOICES:
                    pcm, rate = render(voice, line, Path(tmp))
                    text = engine.transcribe(phone_line(pcm, rate), MULAW_RATE, prompts[bot])
                    heard[line][voice] = text
                print(json.dumps({line: heard[line]}), file=sys.stderr)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(corpus, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--new", action="store_true", help="only lines not in the file yet")
    main(parser.parse_args().new)
