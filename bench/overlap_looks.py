"""What the turn taker decides about words over the bot, offline, in the bench's 14 voices.

Backchannels ("Mm-hmm.", "Yeah, right.") and interruptions ("Wait.", "Stuffed crust,
please.") are rendered as the conversation bench's callers say them (telephone band, 8 kHz);
partials are transcribed by the server's whisper engine with the prompt a call uses over the
bot, at the voiced times the utterance stream asks for them (``EAGER_EVERY_S``, and
``EAGER_SOON_S`` after a doubtful one), and fed to a ``TurnTaker`` with the pizza bot's
settings; the utterance's final follows 800 ms after its end. Printed with and without the
form agent judging whether doubtful words mean anything (as the server's turn taker asks it):
backchannels that stop the bot, and how much of an interruption's speech is heard before it
stops the bot (p50 / p95, transcription time not included: that depends on the machine's
load, which the conversation bench measures).

    python bench/overlap_looks.py [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from voxline.agents.form import FormAgent  # noqa: E402
from voxline.bot import load_bot  # noqa: E402
from voxline.events import SpeechStarted, SpeechStopped, Transcript, TranscriptKind  # noqa: E402
from voxline.history import History  # noqa: E402
from voxline.speech.base import RecognizerHints  # noqa: E402
from voxline.speech.utterances import EAGER_EVERY_S, EAGER_SOON_S  # noqa: E402
from voxline.speech.whisper import WhisperEngine, utterance_prompt  # noqa: E402
from voxline.testbench.voices import VOICES, VoiceRenderer  # noqa: E402
from voxline.turns import Eager, Interrupt, TurnTaker  # noqa: E402

BACKCHANNELS = ["Mm-hmm.", "Uh-huh.", "Yeah.", "Okay.", "Right.", "Mm-hmm, yeah.", "Yeah, right.",
                "Uh-huh, okay."]  # fmt: skip
INTERRUPTIONS = [
    "No, no, actually, make it a medium.", "Wait.", "Hold on.", "Stop.",
    "Sorry, just give me a large pepperoni on thin crust.", "No, thin crust.",
    "Can you repeat that?", "Actually, cancel it.", "Stuffed crust, please. A large with ham.",
    "Okay, I'll have a medium mushroom pizza on thin crust.", "Make it a medium.",
    "A large with ham, please.",
]  # fmt: skip
PREROLL_S = 0.3  # of the line before its speech, as the stream's pre-roll keeps
FINAL_AFTER_S = 0.8
# The bot was answering "What toppings do you have?" and the caller heard this much of it.
ASKED, HEARD = "What toppings do you have?", "For toppings, we have cheese, pepperoni,"


def decide(engine: WhisperEngine, prompt: str, pcm: bytes, start: float, end: float,
           taker: TurnTaker) -> tuple[float | None, list[str]]:  # fmt: skip
    """Seconds of speech before the bot is stopped (None: it talks on), and the looks."""
    at = lambda t: 2 * round(8000 * t)  # noqa: E731
    begin = max(0.0, start - PREROLL_S)
    taker.on_bot_speaking(True, 0.0)
    taker.on_event(SpeechStarted(start), start)
    t, looks, soon = start, [], False
    while (t := t + (EAGER_SOON_S if soon else EAGER_EVERY_S)) < end:
        text = engine.transcribe(pcm[at(begin) : at(t)], 8000, prompt)
        looks.append(text)
        out = taker.on_event(Transcript(TranscriptKind.PARTIAL, text, t), t) if text else []
        out += taker.tick(t)
        if any(isinstance(d, Interrupt) for d in out):
            return t - start, looks
        soon = any(isinstance(d, Eager) and d.soon for d in out)
    taker.on_event(SpeechStopped(end), end)
    text = engine.transcribe(pcm[at(begin) : at(end + 0.3)], 8000, prompt)
    looks.append(f"final: {text}")
    now = end + FINAL_AFTER_S
    out = taker.on_event(Transcript(TranscriptKind.FINAL, text, now, end), now)
    return (now - start if any(isinstance(d, Interrupt) for d in out) else None), looks


def pct(values: list[float], q: float) -> float | None:
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))], 2) if values else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", type=Path, help="write the figures and every line's looks here")
    args = ap.parse_args()
    bot = load_bot(ROOT / "bots" / "pizza")
    prompt = utterance_prompt(
        RecognizerHints(phrases=bot.vocabulary, example=bot.example), True, ""
    )
    engine = WhisperEngine(workers=1)
    renderer = VoiceRenderer(ROOT / "var" / "cache" / "voices")
    agent = FormAgent(bot)
    history = History(bot.prompt)
    history.assistant(bot.greeting)
    history.user(ASKED)
    history.assistant(HEARD)
    judges: dict[str, Callable[[str], bool] | None] = {
        "any words": None,
        "words the agent understands (the server's)": lambda t: agent.understands(history, t),
    }
    out: dict[str, dict] = {}
    for name, means in judges.items():
        rows = []
        for kind, lines in (("backchannel", BACKCHANNELS), ("interruption", INTERRUPTIONS)):
            for voice in VOICES:
                for line in lines:
                    r = renderer.render(voice, line)
                    taker = TurnTaker(bot.turns, means=means)
                    stop, looks = decide(engine, prompt, r.pcm, r.speech_start, r.speech_end,
                                         taker)  # fmt: skip
                    rows.append({"kind": kind, "voice": voice, "line": line, "stop_s": stop,
                                 "looks": looks})  # fmt: skip
        bcs = [r for r in rows if r["kind"] == "backchannel"]
        stops = [r["stop_s"] for r in rows if r["kind"] == "interruption" and r["stop_s"]]
        figures = {
            "backchannels_stopping_the_bot": sum(r["stop_s"] is not None for r in bcs),
            "backchannels": len(bcs),
            "interruptions_stopping_it": len(stops),
            "interruptions": len(rows) - len(bcs),
            "speech_before_the_stop_s": {"p50": pct(stops, 0.5), "p95": pct(stops, 0.95)},
        }
        out[name] = {**figures, "rows": rows}
        print(f"{name}: backchannels stopping the bot {figures['backchannels_stopping_the_bot']}"
              f"/{len(bcs)}; interruptions stopping it {len(stops)}/{figures['interruptions']} "
              f"after {figures['speech_before_the_stop_s']['p50']} / "
              f"{figures['speech_before_the_stop_s']['p95']} s of speech (p50 / p95)")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(out, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
