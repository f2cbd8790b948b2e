"""The gated VAD on real audio: Silero on the embedded voice's speech, a knock, silence."""

import numpy as np
import pytest

from voxline.audio import rms_dbfs
from voxline.events import SpeechStarted, SpeechStopped
from voxline.speech.loudness import ONSET_DBFS, QUIET_DBFS
from voxline.speech.vad import SileroModel
from voxline.speech.vad_gate import QUIET_HOLD_S, GatedVad

RATE = 8000
FRAME = 2 * RATE // 50  # 20 ms of 16-bit PCM


class CountingModel(SileroModel):
    """The real model, counting its inferences."""

    def __init__(self) -> None:
        super().__init__()
        self.runs = 0
        session = self.session

        class Session:
            def run(inner, *args):
                self.runs += 1
                return session.run(*args)

        self.session = Session()


@pytest.fixture(scope="module")
def model() -> CountingModel:
    return CountingModel()


def frames(pcm: bytes):
    pcm += bytes(-len(pcm) % FRAME)
    return [pcm[i : i + FRAME] for i in range(0, len(pcm), FRAME)]


def feed(vad: GatedVad, pcm: bytes, t0: float, quick: bool = True, wanted: bool = True):
    """(edge, time the frame carrying it ended) for each edge; the time after the audio.
    As with the turn taker, an onset pauses the bot: no quick onsets until it is taken back."""
    out, t = [], t0
    for frame in frames(pcm):
        t = round(t + 0.02, 6)
        paused = vad.tentative is not None or vad.speaking
        out += [(e, t) for e in vad.push(frame, t, wanted, quick and not paused) or []]
    return out, t


def knock() -> bytes:
    """60 ms of loud decaying noise: a door, a thump on the phone."""
    rng = np.random.default_rng(7)
    n = int(0.06 * RATE)
    x = rng.normal(0, 8000, n) * np.exp(-np.arange(n) / (0.015 * RATE))
    return x.clip(-32768, 32767).astype("<i2").tobytes()


def silence(seconds: float) -> bytes:
    return bytes(2 * int(seconds * RATE))


def test_a_loud_first_frame_is_an_onset_at_once_and_the_model_confirms_it(model, speak):
    vad = GatedVad(model, RATE, gated=True)
    edges, t = feed(vad, silence(QUIET_HOLD_S), 0.0)
    runs = model.runs
    edges, t = feed(vad, silence(1.0 - QUIET_HOLD_S), t)
    assert edges == [] and model.runs == runs  # a silent line: the model stopped running
    speech = speak("Actually, make it a medium one.")
    edges, t = feed(vad, speech + silence(0.5), t)
    (start, heard_at), *rest = edges
    first_loud = next(i for i, f in enumerate(frames(speech)) if rms_dbfs(f) >= ONSET_DBFS)
    assert start == SpeechStarted(round(1.0 + 0.02 * first_loud, 6))
    assert heard_at - start.t == pytest.approx(0.02)  # reported on that very frame
    assert vad.tentative is None and model.runs > runs  # the model confirmed it
    # Then the model's own edges (the phrase has pauses), none of them taken for noise.
    kinds = [type(e) for e, _ in rest]
    assert kinds == [SpeechStopped, SpeechStarted] * (len(kinds) // 2) + [SpeechStopped]
    assert not any(getattr(e, "noise", False) for e, _ in rest)


def test_a_knock_pauses_then_is_taken_back_as_noise(model):
    vad = GatedVad(model, RATE, gated=True, confirm_s=0.3)
    _, t = feed(vad, silence(0.5), 0.0)
    edges, _ = feed(vad, knock() + silence(0.6), t)
    assert [type(e) for e, _ in edges] == [SpeechStarted, SpeechStopped]
    (start, _), (stop, stop_at) = edges
    assert stop.noise and stop_at - start.t == pytest.approx(0.3, abs=0.021)


def test_without_quick_onsets_the_model_alone_decides_later(model, speak):
    speech = speak("Actually, make it a medium one.")
    quick, _ = feed(GatedVad(model, RATE, gated=True), speech, 0.0)
    slow, _ = feed(GatedVad(model, RATE, gated=True), speech, 0.0, quick=False)
    assert isinstance(slow[0][0], SpeechStarted)
    # The model's onset is its own estimate of the start; it is heard frames later.
    assert slow[0][1] - quick[0][1] >= 0.06
    assert not feed(GatedVad(model, RATE, gated=True), knock(), 0.0, quick=False)[0]


def test_the_model_follows_short_gaps_inside_an_utterance(model, speak):
    vad = GatedVad(model, RATE, gated=False)
    feed(vad, silence(1.0), 0.0)
    runs = model.runs
    # Two words 0.2 s apart: the model runs through the gap, so its state is the utterance's.
    audio = trimmed(speak("large")) + silence(0.2) + trimmed(speak("pizza"))
    feed(vad, audio, 1.0, quick=False)
    assert model.runs - runs >= len(audio) // 512 - 2  # 256 samples at 8 kHz per 32 ms window


def test_off_where_onsets_do_not_matter(model, speak):
    vad = GatedVad(model, RATE, gated=True)
    runs = model.runs
    edges, _ = feed(vad, speak("a large pizza"), 0.0, quick=False, wanted=False)
    assert edges == [] and model.runs == runs


def trimmed(pcm: bytes) -> bytes:
    """Without the quiet frames the voice pads its speech with."""
    loud = [i for i, f in enumerate(frames(pcm)) if rms_dbfs(f) >= QUIET_DBFS]
    return pcm[loud[0] * FRAME : (loud[-1] + 1) * FRAME]


@pytest.mark.parametrize("voice", ["rms", "awb", "kal"])
def test_short_answers_in_callers_voices_are_speech_from_their_first_words(model, voice):
    """Found on the conversation bench: a model restarted cold at the caller's onset stayed
    under its threshold for a whole "Yes, that's right." in flite's male voices, so the
    caller's confirmation never reached the bot. Primed, and with the loud-line threshold,
    every short answer is speech, and the onset is within the recognizer's pre-roll."""
    from voxline.testbench.voices import VoiceRenderer

    renderer = VoiceRenderer()
    for line in ("Yes, that's right.", "Yes please.", "Thin crust.", "No, that's all."):
        rendered = renderer.render(voice, line)
        vad = GatedVad(model, RATE, gated=True)
        _, t = feed(vad, silence(1.0), 0.0, quick=False, wanted=False)
        edges, _ = feed(vad, rendered.pcm + silence(1.0), t, quick=False)
        starts = [e.t for e, _ in edges if isinstance(e, SpeechStarted)]
        assert starts, f"{voice}: {line!r} was never speech"
        assert starts[0] - (t + rendered.speech_start) < 0.5, (voice, line, starts)


@pytest.mark.parametrize(
    ("voice", "line"), [("kal", "No, that's it."), ("awb", "Uh-huh."), ("slt-fast", "Bye.")]
)
def test_where_the_vad_cuts_utterances_a_short_line_is_never_lost(model, voice, line):
    """Found on the recognition bench: Silero's probability on these phone voices swings
    with where its windows fall (0.41 or 0.69 for the same words), and with one state "No,
    that's it." in flite's kal never became speech: the caller's goodbye never reached the
    bot. Ungated (the VAD alone cuts utterances for whisper), staggered states catch it."""
    from voxline.testbench.voices import VoiceRenderer

    rendered = VoiceRenderer().render(voice, line)
    for lead in (1.0, 1.02, 1.04, 1.06):  # where the windows fall
        vad = GatedVad(model, RATE, gated=False)
        _, t = feed(vad, silence(lead), 0.0, quick=False)
        edges, _ = feed(vad, rendered.pcm + silence(1.0), t, quick=False)
        assert any(isinstance(e, SpeechStarted) for e, _ in edges), (voice, line, lead)


def test_staggered_states_only_add_to_the_first_ones_probability(model, speak):
    pcm = silence(0.3) + speak("a large pizza") + silence(0.3)
    one, four = model.stream(RATE), model.stream(RATE, 4)
    a = [p for i in range(0, len(pcm), FRAME) for p, _ in one.push(pcm[i : i + FRAME])]
    b = [p for i in range(0, len(pcm), FRAME) for p, _ in four.push(pcm[i : i + FRAME])]
    assert len(a) == len(b) and all(y >= x for x, y in zip(a, b, strict=True))
    assert any(y > x for x, y in zip(a, b, strict=True))


def test_the_cutters_silence_starts_where_the_models_stop_does(model, speak):
    """The model's stop is debounced (96 ms of windows under its threshold); the cutter
    counts those frames as silence already, so the interim comes that much sooner."""
    vad = GatedVad(model, RATE, gated=False)
    _, t = feed(vad, silence(1.0), 0.0, quick=False)
    voiced_end = speaking_end = None
    for frame in frames(speak("A large pizza, please.") + silence(1.0)):
        t = round(t + 0.02, 6)
        was_voiced, was_speaking = vad.voiced, vad.speaking
        vad.push(frame, t, True)
        if was_voiced and not vad.voiced:
            voiced_end = t
        if was_speaking and not vad.speaking:
            speaking_end = t
    assert voiced_end is not None and speaking_end is not None
    assert 0.06 <= speaking_end - voiced_end <= 0.15, (voiced_end, speaking_end)
