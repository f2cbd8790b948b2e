"""Embedded recognition on callers' lines: word errors, slot words, lost and cut utterances.

The corpus is every line the pizza suite's callers say (``bots/pizza/tests``), each in its
scenario's voice and in three more of the bench's voices, some over line hiss: telephone band,
8 kHz mu-law, as the server receives them (592 lines in 14 voices; ``--lines`` takes that many
spread evenly over it, so every scenario and voice stays in). Each line goes through the
server's own path: the call's VAD (``GatedVad``) and utterance cutter (``UtteranceStream``)
decide what reaches whisper, then each recognizer configuration transcribes the same cut.
Printed per voice and overall, side by side in one run (so the machine's load is the same
for all):

- WER against the line as written; slot words (sizes, toppings, crusts, yes/no) missed, and
  invented (in the transcript, not in the line: "on a" heard as "onion"), word for word;
- slot values missed and invented as the bot's form reads them: "mushroom" and "jalapeños"
  are the values mushrooms and jalapenos, so only what the dialog would get wrong counts;
- lost (no utterance reached the recognizer) and cut (the utterances cover less than the
  line's speech, by more than 150 ms);
- time per utterance p50/p95, one thread.

The last four configurations also give whisper what the caller heard the bot say just before
the line, as the call does: the bot's words come from playing each scenario in text with the
bot's own dialog (the caller's lines as written), so they are the reply the line answers. The
next runs the encoder on a 10 s window instead of 30 s; the next also hears a short answer
that names none of the options the bot's question gave as the option whisper finds far
likelier than the others (``speech/choices.py``); the last, as the server does, takes the
beam hypothesis that names more of the bot's words when it is nearly as likely as the best
(``speech/hypotheses.py``).

    python bench/recognition.py [--lines N] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from voxline.agents.form import FormAgent  # noqa: E402
from voxline.agents.slots import Lexicon, words  # noqa: E402
from voxline.audio import duration, pcm_to_ulaw, ulaw_to_pcm  # noqa: E402
from voxline.bot import Bot, load_bot  # noqa: E402
from voxline.events import AudioIn, SpeechStarted, TranscriptKind  # noqa: E402
from voxline.records_sqlite import SqliteRecords  # noqa: E402
from voxline.speech.base import RecognizerHints  # noqa: E402
from voxline.speech.choices import utterance_options  # noqa: E402
from voxline.speech.hypotheses import utterance_vocabulary  # noqa: E402
from voxline.speech.utterances import HEARD_CHARS, PREROLL_S, TAIL_S, UtteranceStream  # noqa: E402
from voxline.speech.vad import SileroModel  # noqa: E402
from voxline.speech.vad_gate import GatedVad  # noqa: E402
from voxline.speech.whisper import (  # noqa: E402
    WINDOWS,
    WhisperEngine,
    utterance_prompt,
    whisper_prompt,
)
from voxline.testbench.caller_script import answer_for  # noqa: E402
from voxline.testbench.conversation import Conversation  # noqa: E402
from voxline.testbench.far_end import line_hiss  # noqa: E402
from voxline.testbench.scenario import Scenario, load_suite  # noqa: E402
from voxline.testbench.voices import VoiceRenderer, spoken_text  # noqa: E402
from voxline.testbench.words import normalize, word_errors  # noqa: E402

RATE = 8000
FRAME = 320  # bytes: 20 ms of 16-bit PCM at 8 kHz
EXTRA_VOICES = ("espeak-m", "awb", "kokoro-kumo", "rms-low", "slt-fast", "espeak-gb", "kal")
YES_NO = {"yes": "yes", "yeah": "yes", "yep": "yes", "no": "no", "nope": "no"}


@dataclass
class Line:
    voice: str
    text: str
    hiss: float | None
    pcm: bytes = b""  # the line as the server hears it, with silence before and after
    speech: tuple[float, float] = (0.0, 0.0)
    cuts: list[bytes] = field(default_factory=list)  # what the VAD and cutter passed on
    covered_s: float = 0.0
    before: str = ""  # the bot's reply the line answers
    over_bot: bool = False  # said while the bot talks: the call prompts for a backchannel


def corpus(limit: int) -> list[Line]:
    out, seen = [], set()
    for sc in load_suite(ROOT / "bots" / "pizza"):
        for voice, text in sc.lines():
            others = [v for v in EXTRA_VOICES if v != voice][len(out) % 4 :][:3]
            voices = [voice, *others]
            for i, v in enumerate(voices):
                key = (v, text)
                if key not in seen:
                    seen.add(key)
                    hiss = -48.0 if i == 2 else sc.hiss_dbfs
                    out.append(Line(v, text, hiss))
    if len(out) <= limit:
        return out
    return [out[i * len(out) // limit] for i in range(limit)]  # every scenario and voice


async def _play(sc: Scenario, bot: Bot, records: SqliteRecords, out: dict[str, Line]) -> None:
    """One scenario in text: the bot's reply before each caller line, first one kept."""
    talk = Conversation(bot, records, call_id=sc.name)
    last = bot.greeting
    for step in sc.steps:
        if step.kind in ("say", "backchannel"):
            out.setdefault(
                step.text, Line("", step.text, None, before=last, over_bot=step.over_bot)
            )
            if step.kind == "say":
                last = await talk.say(step.text)
        elif step.kind == "answer":
            for _ in range(step.max_turns):
                line, _ = answer_for(step, normalize(last))
                if not line:
                    break
                out.setdefault(line, Line("", line, None, before=last))
                last = await talk.say(line)
        if talk.ended:
            break


def replies_before(bot: Bot, scenarios: list[Scenario], folder: Path) -> dict[str, Line]:
    out: dict[str, Line] = {}

    async def play_all() -> None:
        records = SqliteRecords(folder / "records.db")
        try:
            for sc in scenarios:
                await _play(sc, bot, records, out)
        finally:
            await records.close()

    asyncio.run(play_all())
    return out


def render(lines: list[Line], renderer: VoiceRenderer) -> None:
    for ln in lines:
        r = renderer.render(ln.voice, ln.text)
        speech = np.frombuffer(r.pcm, "<i2") / 32768
        x = np.concatenate([np.zeros(RATE), speech, np.zeros(2 * RATE)])  # silence goes on
        if ln.hiss is not None:
            noise = line_hiss(ln.hiss, len(x) / RATE)
            x = x + np.resize(noise, len(x))
        pcm = (x * 32768).clip(-32768, 32767).astype("<i2").tobytes()
        ln.pcm = ulaw_to_pcm(pcm_to_ulaw(pcm))  # the line's mu-law round trip
        ln.speech = (1.0 + r.speech_start, 1.0 + r.speech_end)


async def cut(ln: Line, vad_model: SileroModel, hints: RecognizerHints) -> None:
    """The call's path from audio to utterances: what each final transcript would be made of."""
    vad = GatedVad(vad_model, RATE, gated=False)
    pieces: list[bytes] = []

    async def keep(pcm: bytes, rate: int, over_bot: bool, heard: str, earlier: str) -> str:
        pieces.append(pcm)
        return f"#{len(pieces) - 1}"  # a final that reuses its interim reuses this too

    stream = UtteranceStream(keep, RATE, hints, clock=lambda: 0.0)
    finals: list[str] = []

    async def consume() -> None:
        async for tr in stream:
            if tr.kind is TranscriptKind.FINAL:
                finals.append(tr.text)

    consumer = asyncio.create_task(consume())
    spans, start, t = [], None, 0.0
    for i in range(0, len(ln.pcm) - FRAME + 1, FRAME):
        frame = ln.pcm[i : i + FRAME]
        onset = next(
            (e.t for e in vad.push(frame, t + 0.02, True) or [] if isinstance(e, SpeechStarted)), t
        )
        if start is None and vad.voiced:  # what the call's cutter counts as speech
            start = min(onset, t)
        elif start is not None and not vad.voiced:
            spans.append((start, t))
            start = None
        await stream.send(AudioIn(frame, frame, t), vad.voiced)
        t += 0.02
    for _ in range(50):
        await asyncio.sleep(0.01)
    await stream.aclose()
    await consumer
    ln.cuts = [pieces[int(f[1:])] for f in finals]
    # What reached the recognizer: each utterance from its onset less the pre-roll to its last
    # voiced frame and the tail, gaps shorter than the final's silence kept inside it.
    reach: list[list[float]] = []
    for s, e in spans:
        s, e = s - PREROLL_S, e + TAIL_S
        if reach and s - reach[-1][1] < hints.stop_history_ms / 1000:
            reach[-1][1] = e
        else:
            reach.append([s, e])
    a, b = ln.speech
    ln.covered_s = sum(max(0.0, min(b, e) - max(a, s)) for s, e in reach)


def cut_short(ln: Line) -> bool:
    return bool(ln.cuts) and ln.covered_s < ln.speech[1] - ln.speech[0] - 0.15


def slot_words(vocabulary: tuple[str, ...]) -> list[str]:
    """The menu's values and yes/no, longest first (so "black olives" before "olives")."""
    return sorted({" ".join(normalize(w)) for w in (*vocabulary, *YES_NO)}, key=len, reverse=True)


def slots_in(text: str, vocab: list[str]) -> list[str]:
    """The slot words in ``text``; "nope" is the same answer as "no"."""
    found, rest = [], f" {' '.join(normalize(text))} "
    for w in vocab:
        while f" {w} " in rest:
            found.append(YES_NO.get(w, w))
            rest = rest.replace(f" {w} ", " | ", 1)
    return found


def values_in(text: str, lexicon: Lexicon) -> list[str]:
    """The slot values the bot's form reads in ``text`` (plurals and synonyms as the value,
    "jalapeños" as jalapenos), and each yes or no."""
    tokens = words(text)
    found = [f"{m.targets[0].slot}={m.targets[0].value}" for m in lexicon.find(tokens)]
    return found + [YES_NO[t] for t in tokens if t in YES_NO]


def excess(a: list[str], b: list[str]) -> int:
    """How many of ``a``'s items ``b`` lacks, counting repeats."""
    return sum(max(0, a.count(w) - b.count(w)) for w in set(a))


@dataclass
class Config:
    name: str
    beam: int
    prompt: str
    hints: RecognizerHints | None = None  # prompt as the call does, with the reply before
    windows: tuple[int, ...] | None = None  # encoder windows; None: faster-whisper's 30 s
    choices: bool = False  # a short answer may be heard as an option the question named
    favour: bool = False  # the beam hypothesis naming more of the bot's words may be taken
    places: bool = False  # the word before a slot's name is tried as its values


def run(
    configs: list[Config],
    lines: list[Line],
    engine: WhisperEngine,
    vocab: list[str],
    lexicon: Lexicon,
):
    rows: dict[str, dict[str, dict]] = {}
    for cfg in configs:
        engine.beam, engine.windows = cfg.beam, cfg.windows
        per: dict[str, dict] = {}
        for ln in lines:
            hyp, times = [], []
            for pcm in ln.cuts:
                t0 = time.perf_counter()
                prompt, options, vocabulary, places = cfg.prompt, (), (), ()
                if cfg.hints is not None:  # as the call prompts
                    heard = ln.before[-HEARD_CHARS:]
                    prompt = utterance_prompt(cfg.hints, ln.over_bot, heard)
                    if cfg.choices:
                        options = utterance_options(cfg.hints, ln.over_bot, heard)
                    if cfg.favour:
                        options = utterance_options(cfg.hints, ln.over_bot, heard)
                        vocabulary = utterance_vocabulary(cfg.hints, ln.over_bot, options)
                    if cfg.places and not ln.over_bot:
                        places = cfg.hints.places
                hyp.append(engine.transcribe(pcm, RATE, prompt, options, vocabulary, "", places))
                times.append(time.perf_counter() - t0)
            text = " ".join(hyp)
            ref = spoken_text(ln.text)
            edits, n = word_errors(ref, text)
            want, got = slots_in(ref, vocab), slots_in(text, vocab)
            missed, invented = excess(want, got), excess(got, want)
            meant, read = values_in(ref, lexicon), values_in(text, lexicon)
            for key in (ln.voice, "all"):
                g = per.setdefault(key, {"edits": 0, "words": 0, "slots": 0, "missed": 0,
                                         "invented": 0, "lines": 0, "lost": 0, "cut": 0,
                                         "values": 0, "values_missed": 0,
                                         "values_invented": 0,
                                         "times": [], "examples": []})  # fmt: skip
                g["edits"] += edits
                g["words"] += n
                g["slots"] += len(want)
                g["missed"] += missed
                g["invented"] += invented
                g["values"] += len(meant)
                g["values_missed"] += excess(meant, read)
                g["values_invented"] += excess(read, meant)
                g["lines"] += 1
                g["lost"] += not ln.cuts
                g["cut"] += cut_short(ln)
                g["times"] += times
                if (missed or invented) and len(g["examples"]) < 8 and key == "all":
                    g["examples"].append(f"{ln.voice}: {ln.text!r} -> {text!r}")
        rows[cfg.name] = per
    return rows


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) * 1000 if values else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=240)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    bot = load_bot(ROOT / "bots" / "pizza")
    hints = RecognizerHints(phrases=bot.vocabulary, example=bot.example, places=bot.places)
    lines = corpus(args.lines)
    scratch = ROOT / "var" / "cache" / "recognition-bench"
    scratch.mkdir(parents=True, exist_ok=True)
    (scratch / "records.db").unlink(missing_ok=True)
    before = replies_before(bot, load_suite(ROOT / "bots" / "pizza"), scratch)
    for ln in lines:
        if (seen := before.get(ln.text)) is not None:
            ln.before, ln.over_bot = seen.before, seen.over_bot
    render(lines, VoiceRenderer(ROOT / "var" / "cache" / "voices"))
    vad = SileroModel()
    for ln in lines:
        asyncio.run(cut(ln, vad, hints))
    configs = [
        Config("before: beam 1, word-list prompt", 1, ", ".join(bot.vocabulary[:40])),
        Config("then: beam 5, example sentence", 5, whisper_prompt(hints)),
        Config("then: + the bot's words before", 5, "", hints),
        Config("then: + encoder on a 10 s window", 5, "", hints, WINDOWS),
        Config("then: + short answers as the options", 5, "", hints, WINDOWS, choices=True),
        Config("then: + hypotheses naming the bot's words", 5, "", hints, WINDOWS, True, True),
        Config("now: + the word before a slot's name", 5, "", hints, WINDOWS, True, True, True),
    ]
    engine = WhisperEngine(workers=1)
    rows = run(configs, lines, engine, slot_words(bot.vocabulary), FormAgent(bot).lexicon)
    voices = sorted({ln.voice for ln in lines})
    hissy = sum(ln.hiss is not None for ln in lines)
    minutes = sum(duration(ln.pcm, RATE) for ln in lines) / 60
    print(f"\n{len(lines)} lines in {len(voices)} voices, {hissy} over hiss, {minutes:.0f} min")
    lost = sum(not ln.cuts for ln in lines)
    cut_n = sum(cut_short(ln) for ln in lines)
    print(f"VAD and cutter: {lost} lost, {cut_n} cut (speech not covered by more than 150 ms)")
    print(
        f"{'':36}{'voice':<14}{'WER':>6}{'slot miss':>10}{'invented':>9}"
        f"{'value miss':>11}{'invented':>9}{'p50 ms':>8}{'p95 ms':>8}"
    )
    for name, per in rows.items():
        for key in [*voices, "all"]:
            g = per[key]
            slots, values = max(1, g["slots"]), max(1, g["values"])
            print(
                f"{name if key == 'all' else '':36}{key:<14}{g['edits'] / g['words']:>6.3f}"
                f"{g['missed'] / slots:>10.3f}{g['invented'] / slots:>9.3f}"
                f"{g['values_missed'] / values:>11.3f}{g['values_invented'] / values:>9.3f}"
                f"{pct(g['times'], 50):>8.0f}{pct(g['times'], 95):>8.0f}"
            )
        for ex in per["all"]["examples"]:
            print(f"    {ex}")
    if args.json:
        doc = {
            "date": time.strftime("%Y-%m-%d %H:%M"),
            "lines": len(lines),
            "voices": voices,
            "lost": lost,
            "cut": cut_n,
            "configs": {
                name: {k: {**{x: y for x, y in g.items() if x != "times"},
                           "p50_ms": pct(g["times"], 50), "p95_ms": pct(g["times"], 95)}
                       for k, g in per.items()}
                for name, per in rows.items()
            },
        }  # fmt: skip
        args.json.write_text(json.dumps(doc, indent=1))


if __name__ == "__main__":
    main()
