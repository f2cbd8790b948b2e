"""VAD-cut endpointing for whole-utterance recognizers, with a scripted transcriber."""

import asyncio

import numpy as np

from voxline.events import AudioIn, TranscriptKind
from voxline.speech.base import RecognizerHints
from voxline.speech.utterances import UtteranceStream

FRAME = bytes(320)  # 20 ms at 8 kHz
LOUD = np.full(160, 3000, dtype="<i2").tobytes()  # -21 dBFS: speech the VAD has not confirmed


class Transcriber:
    """Stands in for whisper: names each utterance by its length in frames."""

    def __init__(self) -> None:
        self.calls: list[int] = []
        self.over_bot: list[bool] = []
        self.heard: list[str] = []
        self.earlier: list[str] = []

    async def __call__(
        self, pcm: bytes, rate: int, over_bot: bool, heard: str, earlier: str
    ) -> str:
        self.calls.append(len(pcm) // 320)
        self.earlier.append(earlier)
        self.over_bot.append(over_bot)
        self.heard.append(heard)
        await asyncio.sleep(0)
        return f"utterance of {len(pcm) // 320} frames"


async def feed(stream, pattern: str, t0: float = 0.0) -> float:
    """'v' = a voiced frame, '.' = silence, 'l' = a loud frame the VAD calls silence."""
    t = t0
    for ch in pattern:
        pcm = LOUD if ch == "l" else FRAME
        await stream.send(AudioIn(pcm, pcm, t), ch == "v")
        t += 0.02
    return t


async def collect(stream, n: int):
    out = []
    async for tr in stream:
        out.append(tr)
        if len(out) == n:
            break
    return out


async def test_interim_after_240ms_then_final_reusing_it():
    tx = Transcriber()
    stream = UtteranceStream(tx, 8000, RecognizerHints(), clock=lambda: 99.0)
    await feed(stream, "." * 20 + "v" * 50 + "." * 45)
    interim, final = await collect(stream, 2)
    assert interim.kind is TranscriptKind.INTERIM and final.kind is TranscriptKind.FINAL
    assert final.text == interim.text
    assert len(tx.calls) == 1  # the final reused the interim: one model run
    # 20 frames of pre-roll + 50 voiced + 12 frames of silence before the interim fired
    assert tx.calls == [20 + 50 + 12]
    assert abs(final.speech_end - 1.4) < 1e-9
    await stream.aclose()


async def test_speech_resumed_after_the_interim_gets_an_interim_of_its_own():
    """ "Thick crust, [400 ms] medium, with bacon.": the whole sentence's interim comes 240 ms
    after it, not its final 800 ms after (the bot's reply waited for it)."""
    tx = Transcriber()
    stream = UtteranceStream(tx, 8000, RecognizerHints(), clock=lambda: 0.0)
    await feed(stream, "v" * 20 + "." * 20 + "v" * 20 + "." * 45)
    first, second, final = await collect(stream, 3)
    assert [first.kind, second.kind] == [TranscriptKind.INTERIM] * 2
    assert abs(second.speech_end - 1.2) < 1e-9  # the end of the whole utterance
    assert first.text != second.text == final.text and len(tx.calls) == 2  # final: reused
    # the second's recognizer knows what the first said (``speech/hypotheses.continued``)
    assert tx.earlier == ["", first.text]
    await feed(stream, "v" * 20 + "." * 45, 3.0)  # the next utterance starts afresh
    await collect(stream, 2)
    assert tx.earlier[2:] == [""]
    await stream.aclose()


async def test_only_a_pause_of_240ms_gets_an_interim():
    tx = Transcriber()
    stream = UtteranceStream(tx, 8000, RecognizerHints(), clock=lambda: 0.0)
    # resumed 300 ms after the interim, then 200 ms of silence: too short for another interim
    await feed(stream, "v" * 20 + "." * 15 + "v" * 20 + "." * 10 + "v" * 5 + "." * 45)
    texts = [t.kind for t in await collect(stream, 3)]
    assert texts == [TranscriptKind.INTERIM, TranscriptKind.INTERIM, TranscriptKind.FINAL]
    assert tx.calls[1] == 20 + 15 + 20 + 10 + 5 + 12  # the second interim: all of it
    await stream.aclose()


def eager_stream() -> tuple[Transcriber, UtteranceStream]:
    """A stream while the bot talks: partials are asked for during speech."""
    tx = Transcriber()
    stream = UtteranceStream(tx, 8000, RecognizerHints(), clock=lambda: 0.0)
    stream.eager(True)
    return tx, stream


async def test_speech_before_the_vad_onset_counts_toward_the_first_partial():
    """The VAD confirms speech late: 200 ms of it already in the pre-roll, the first partial
    is due after 60 ms more, not 250 (a barge-in waits for it)."""
    tx, stream = eager_stream()
    await feed(stream, "." * 10 + "l" * 10 + "v" * 2)
    await asyncio.sleep(0.01)
    assert tx.calls == []
    await feed(stream, "v")
    (partial,) = await asyncio.wait_for(collect(stream, 1), 1)
    assert partial.kind is TranscriptKind.PARTIAL and tx.calls == [23]
    await stream.aclose()


async def test_eager_partials_come_every_250ms_of_voiced_speech_one_at_a_time():
    """A second look at words over the bot comes 250 ms after the first (``turns.py``)."""
    tx, stream = eager_stream()
    await feed(stream, "v" * 13)
    await asyncio.wait_for(collect(stream, 1), 1)
    await feed(stream, "v" * 13 + "." * 3 + "v")  # silence is not counted
    await asyncio.wait_for(collect(stream, 1), 1)
    assert tx.calls == [13, 26]
    await feed(stream, "v" * 11)
    await asyncio.sleep(0.01)
    assert tx.calls == [13, 26]  # 240 ms voiced since the second: not yet
    await feed(stream, "v")
    await asyncio.wait_for(collect(stream, 1), 1)
    assert tx.calls == [13, 26, 42]
    await stream.aclose()


async def test_a_doubtful_partial_gets_its_second_look_sooner():
    """Words with no interruption word wait, ducked, for a second look (``turns.py``): it
    comes after 120 ms more of speech, counted from the first partial, then every 250 ms."""
    tx, stream = eager_stream()
    await feed(stream, "v" * 13)
    await asyncio.wait_for(collect(stream, 1), 1)
    await feed(stream, "v" * 3)
    stream.eager(True, soon=True)  # the first look's words were no interruption word
    await asyncio.sleep(0.01)
    assert tx.calls == [13]
    await feed(stream, "v" * 3)
    await asyncio.wait_for(collect(stream, 1), 1)
    assert tx.calls == [13, 19]
    await feed(stream, "v" * 12)
    await asyncio.sleep(0.01)
    assert tx.calls == [13, 19]  # then every 250 ms again
    await feed(stream, "v")
    await asyncio.wait_for(collect(stream, 1), 1)
    assert tx.calls == [13, 19, 32]
    await stream.aclose()


async def test_speech_that_began_over_the_bot_is_transcribed_as_such():
    """Whisper gets its backchannel prompt for it, to the final; the next turn, begun once
    the bot is quiet, gets the plain one."""
    tx = Transcriber()
    stream = UtteranceStream(tx, 8000, RecognizerHints(), clock=lambda: 0.0)
    stream.eager(True)  # the bot talks
    t = await feed(stream, "v" * 10)
    stream.eager(False)  # the bot stopped, the caller talks on
    t = await feed(stream, "v" * 10 + "." * 45, t)
    await feed(stream, "v" * 10 + "." * 45, t)
    await collect(stream, 4)
    assert tx.over_bot == [True, False]  # the interim reused for the final: one run each
    await stream.aclose()


async def test_each_utterance_is_transcribed_with_the_bot_words_heard_before_it():
    tx = Transcriber()
    stream = UtteranceStream(tx, 8000, RecognizerHints(), clock=lambda: 0.0)
    stream.heard("Got it, a large pizza.")
    stream.heard("Which crust would you like?")
    t = await feed(stream, "v" * 20 + "." * 45)
    await collect(stream, 2)
    stream.heard("x" * 300)  # a long reply: its end, where the question is, is kept
    await feed(stream, "v" * 20 + "." * 45, t)
    await collect(stream, 2)
    assert tx.heard == ["Got it, a large pizza. Which crust would you like?", "x" * 200]
    await stream.aclose()


async def test_silence_alone_produces_nothing():
    tx = Transcriber()
    stream = UtteranceStream(tx, 8000, RecognizerHints(), clock=lambda: 0.0)
    await feed(stream, "." * 200)
    await asyncio.sleep(0.01)
    assert tx.calls == []
    await stream.aclose()
