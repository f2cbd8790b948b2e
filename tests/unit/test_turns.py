"""Turn-taking rules in virtual time: events with explicit timestamps, no sleeping."""

from dataclasses import replace

from voxline.bot import TurnSettings
from voxline.events import SpeechStarted, SpeechStopped, Transcript, TranscriptKind
from voxline.transcript_shape import unfinished, whole_sentence
from voxline.turns import (
    Cancel,
    Confirm,
    Eager,
    Hangup,
    Interrupt,
    Pause,
    Release,
    Reprompt,
    Respond,
    Resume,
    TurnTaker,
)

P, INTERIM, F = TranscriptKind.PARTIAL, TranscriptKind.INTERIM, TranscriptKind.FINAL


def tr(kind, text, t):
    return Transcript(kind, text, t, speech_end=round(t - 0.3, 6))


def turn_taker(**over) -> TurnTaker:
    return TurnTaker(replace(TurnSettings(), **{"overlap": "pause", **over}))


def test_final_mode_replies_on_the_final_only():
    tt = turn_taker(mode="final")
    assert tt.on_event(SpeechStarted(0.0), 0.0) == []
    assert tt.on_event(SpeechStopped(1.0), 1.1) == []
    assert tt.on_event(tr(INTERIM, "a large pizza", 1.25), 1.25) == []
    assert tt.on_event(tr(F, "a large pizza", 1.8), 1.8) == [
        Respond("a large pizza", speech_end=1.5)
    ]


def test_interim_mode_replies_early_and_confirms_on_a_matching_final():
    tt = turn_taker(mode="interim")
    tt.on_event(SpeechStarted(0.0), 0.0)
    tt.on_event(SpeechStopped(1.0), 1.1)
    assert tt.on_event(tr(INTERIM, "A large pizza.", 1.25), 1.25) == [
        Respond("A large pizza.", speculative=True, speech_end=0.95)
    ]
    assert tt.on_event(tr(F, "a large pizza", 1.8), 1.8) == [Confirm()]


def test_interim_mode_retriggers_when_the_final_differs():
    tt = turn_taker(mode="interim")
    tt.on_event(tr(INTERIM, "a large", 1.25), 1.25)
    assert tt.on_event(tr(F, "a large pepperoni", 1.8), 1.8) == [
        Cancel("final transcript differs"),
        Respond("a large pepperoni", replace=True, speech_end=1.5),
    ]


def test_interim_mode_cancels_when_the_caller_resumes_and_replaces_the_turn():
    tt = turn_taker(mode="interim")
    tt.on_event(tr(INTERIM, "a large", 1.25), 1.25)
    assert tt.on_event(SpeechStarted(1.4), 1.45) == [Cancel("caller resumed speaking")]
    tt.on_event(SpeechStopped(2.0), 2.1)
    assert tt.on_event(tr(F, "a large pepperoni pizza", 2.8), 2.8) == [
        Respond("a large pepperoni pizza", replace=True, speech_end=2.5)
    ]


def test_early_reply_already_speaking_is_confirmed_by_the_final():
    tt = turn_taker(mode="interim")
    tt.on_event(tr(INTERIM, "a large pizza", 1.25), 1.25)
    assert tt.on_bot_speaking(True, 1.6) == [Eager(True)]
    assert tt.on_event(tr(F, "a large pizza", 1.8), 1.8) == [Confirm()]


def test_early_reply_already_speaking_is_interrupted_when_the_final_differs():
    tt = turn_taker(mode="interim")
    tt.on_event(tr(INTERIM, "a large", 1.25), 1.25)
    tt.on_bot_speaking(True, 1.6)
    out = tt.on_event(tr(F, "a large veggie", 1.8), 1.8)
    assert isinstance(out[0], Interrupt) and out[-1] == Respond(
        "a large veggie", replace=True, speech_end=1.5
    )


def test_barge_in_needs_200ms_of_speech_and_a_real_transcript():
    tt = turn_taker()
    tt.on_bot_speaking(True, 0.0)
    tt.on_event(SpeechStarted(1.0), 1.03)
    assert tt.on_event(tr(P, "wait", 1.1), 1.1) == []  # 100 ms of speech: not yet
    out = tt.on_event(tr(P, "wait stop", 1.25), 1.25)
    assert out == [Interrupt(1.0, "wait stop"), Eager(False)]
    assert not tt.bot_speaking


def test_speech_over_the_bot_pauses_it_at_onset():
    tt = turn_taker()
    tt.on_bot_speaking(True, 0.0)
    assert tt.on_event(SpeechStarted(1.0), 1.02) == [Pause(1.0)]
    assert tt.on_event(SpeechStarted(1.5), 1.5) == []  # already paused


def test_fillers_never_interrupt_and_the_bot_resumes():
    tt = turn_taker()
    tt.on_bot_speaking(True, 0.0)
    tt.on_event(SpeechStarted(1.0), 1.0)
    for text in ("mm-hmm", "Yeah.", "okay", "uh huh", "right right", "hmm", "ok"):
        assert tt.on_event(tr(P, text, 1.6), 1.6) == [], text
    tt.on_event(SpeechStopped(1.7), 1.8)
    assert tt.on_event(tr(F, "Yeah.", 2.5), 2.5) == [Resume("filler 'Yeah.'")]
    assert tt.bot_speaking and not tt.paused


def test_noise_without_words_resumes_after_a_while():
    tt = turn_taker(resume_after_s=1.0)
    tt.on_bot_speaking(True, 0.0)
    tt.on_event(SpeechStarted(1.0), 1.0)
    tt.on_event(SpeechStopped(1.3), 1.4)
    assert tt.tick(2.2) == []
    assert tt.tick(2.31) == [Resume("no words")]
    assert tt.tick(3.0) == []


def test_a_sound_the_vad_calls_noise_resumes_the_bot_at_once():
    tt = turn_taker()
    tt.on_bot_speaking(True, 0.0)
    assert tt.pausable
    assert tt.on_event(SpeechStarted(1.0), 1.0) == [Pause(1.0)]
    assert not tt.pausable  # paused already
    assert tt.on_event(SpeechStopped(1.3, noise=True), 1.3) == [Resume("noise")]
    assert tt.bot_speaking and not tt.paused and tt.speech_onset is None
    assert tt.tick(5.0) == []  # no second resume for the same sound
    # A real utterance after it is timed from its own onset.
    assert tt.on_event(SpeechStarted(6.0), 6.0) == [Pause(6.0)]
    assert tt.on_event(tr(P, "hold on", 6.4), 6.4) == [Interrupt(6.0, "hold on"), Eager(False)]


def test_only_a_talking_bot_may_be_paused_on_a_sound():
    tt = turn_taker(mode="interim")
    tt.on_event(tr(INTERIM, "a large pizza", 1.25), 1.25)
    assert tt.wants_onsets and not tt.pausable  # cancelling an early reply cannot be undone
    for off in ({"pause_on_speech": False}, {"pause_on_sound": False}):
        never = turn_taker(**off)
        never.on_bot_speaking(True, 0.0)
        assert not never.pausable, off


def test_a_real_interruption_after_the_pause():
    tt = turn_taker()
    tt.on_bot_speaking(True, 0.0)
    assert tt.on_event(SpeechStarted(1.0), 1.0) == [Pause(1.0)]
    assert tt.on_event(tr(P, "hold on", 1.4), 1.4) == [Interrupt(1.0, "hold on"), Eager(False)]
    assert not tt.paused and not tt.bot_speaking


def test_pausing_can_be_turned_off():
    tt = turn_taker(pause_on_speech=False)
    tt.on_bot_speaking(True, 0.0)
    assert tt.on_event(SpeechStarted(1.0), 1.0) == []


def test_ace_spurious_rule_short_text_and_include_words():
    tt = turn_taker(include_words=("hi", "no"))
    assert tt.is_filler("a")
    assert tt.is_filler("so that")
    assert not tt.is_filler("hi")
    assert not tt.is_filler("no")
    assert not tt.is_filler("large please")


def test_a_hum_spelt_any_way_is_a_backchannel():
    """Whisper over the bot wrote the bench voices' "Mm-hmm" and "Uh-huh" as these."""
    tt = turn_taker()
    for hum in ("Mm-huh.", "M-H-N.", "Mm-hm.", "Mm-hum, yeah.", "Hmm.", "Uh-hm."):
        assert tt.is_filler(hum), hum
    for words in ("No, no.", "Hold on.", "Mum, hold on.", "Numb.", "Hun, stop.", "Um, no."):
        assert not tt.is_filler(words), words


def test_yes_is_an_answer_when_the_bot_is_silent():
    tt = turn_taker()
    assert tt.on_event(tr(F, "Yes.", 3.0), 3.0) == [Respond("Yes.", speech_end=2.7)]


def test_more_speech_before_the_bot_starts_cancels_and_adds_to_the_turn():
    tt = turn_taker()
    tt.on_event(tr(F, "a large", 1.8), 1.8)
    assert tt.on_event(tr(F, "with mushrooms", 2.6), 2.6) == [
        Cancel("caller added to the turn"),
        Respond("with mushrooms", speech_end=2.3),
    ]


def test_reprompt_then_hangup_after_long_silence():
    tt = turn_taker(reprompt_after_s=8.0, hangup_after_s=20.0)
    assert tt.tick(7.9) == []
    assert tt.tick(8.0) == [Reprompt()]
    assert tt.tick(9.0) == []  # once
    assert tt.tick(20.0) == [Hangup("silence")]


def test_no_reprompt_while_the_bot_talks_or_the_caller_speaks():
    tt = turn_taker(reprompt_after_s=5.0)
    tt.on_bot_speaking(True, 0.0)
    assert tt.tick(10.0) == []
    tt.on_bot_speaking(False, 10.0)
    tt.on_event(SpeechStarted(11.0), 11.0)
    assert tt.tick(30.0) == []


def test_onsets_matter_over_the_bot_in_a_pause_and_over_an_early_reply_only():
    tt = turn_taker(mode="interim")
    assert not tt.wants_onsets  # a quiet line: the recognizer's own endpointing is enough
    tt.on_event(SpeechStarted(0.0), 0.0)
    tt.on_event(SpeechStopped(1.0), 1.0)
    tt.on_event(tr(INTERIM, "a large pizza", 1.25), 1.25)
    assert tt.wants_onsets  # resumed speech would cancel the early reply
    tt.on_event(tr(F, "a large pizza", 1.8), 1.8)
    assert not tt.wants_onsets  # confirmed, not yet audible
    tt.on_bot_speaking(True, 2.0)
    assert tt.wants_onsets  # barge-in
    tt.on_bot_speaking(False, 4.0)
    assert not tt.wants_onsets


def test_with_barge_in_off_the_bot_talks_to_the_end():
    tt = TurnTaker(replace(TurnSettings(), barge_in=False))
    tt.on_bot_speaking(True, 0.0)
    assert not tt.pausable
    assert tt.on_event(SpeechStarted(1.0), 1.0) == []
    words = Transcript(TranscriptKind.FINAL, "no stop, make it a medium", 2.0)
    assert tt.on_event(words, 2.0) == []


def test_ducked_the_bot_talks_on_through_a_backchannel():
    tt = turn_taker(overlap="duck")
    tt.on_bot_speaking(True, 0.0)
    assert tt.on_event(SpeechStarted(1.0), 1.0) == [Pause(1.0, duck=True)]
    assert tt.on_event(tr(P, "Mm-hmm.", 1.5), 1.5) == []
    tt.on_event(SpeechStopped(1.5), 1.6)
    assert tt.tick(1.7) == []
    assert tt.on_event(tr(F, "Mm-hmm.", 2.5), 2.5) == [Resume("filler 'Mm-hmm.'")]
    assert tt.bot_speaking and not tt.paused


def test_ducked_speech_that_goes_on_is_an_interruption_before_its_words():
    tt = turn_taker(overlap="duck", interrupt_after_ms=900)
    tt.on_bot_speaking(True, 0.0)
    tt.on_event(SpeechStarted(1.0), 1.0)
    assert tt.tick(1.85) == []
    # Speech with no words yet: if they then mean nothing to the agent, the bot goes on.
    assert tt.tick(1.91) == [Interrupt(1.0, "", doubtful=True), Eager(False)]
    assert not tt.bot_speaking and not tt.paused
    # Its words, when they come, are the caller's turn.
    tt.on_event(SpeechStopped(2.4), 2.5)
    assert tt.on_event(tr(F, "make it a medium", 3.3), 3.3) == [
        Respond("make it a medium", speech_end=3.0)
    ]


def test_ducked_words_interrupt_at_once():
    tt = turn_taker(overlap="duck")
    tt.on_bot_speaking(True, 0.0)
    tt.on_event(SpeechStarted(1.0), 1.0)
    assert tt.on_event(tr(P, "No, no", 1.5), 1.5) == [Interrupt(1.0, "No, no"), Eager(False)]


def test_words_with_no_interruption_word_wait_for_a_second_look():
    """Whisper heard a Kokoro voice's "mm-hmm" as "And then." on its first 400 ms and as
    "Mm-hmm." on the whole: the bot stays ducked and talks on."""
    tt = turn_taker(overlap="duck")
    tt.on_bot_speaking(True, 0.0)
    tt.on_event(SpeechStarted(1.0), 1.0)
    assert tt.on_event(tr(P, "And then.", 1.4), 1.4) == [Eager(True, soon=True)]
    tt.on_event(SpeechStopped(1.6), 1.7)
    assert tt.on_event(tr(INTERIM, "Mm-hmm.", 2.1), 2.1) == [Resume("filler 'Mm-hmm.'")]
    assert tt.bot_speaking and not tt.paused
    # A later "Stuffed crust, please" is a new first look, not the second of those words. It
    # stops the bot on a doubt: a backchannel garbled twice ("In it?", "In and ham.") would too.
    tt.on_event(SpeechStarted(5.0), 5.0)
    assert tt.on_event(tr(P, "Come.", 5.4), 5.4) == [Eager(True, soon=True)]
    out = tt.on_event(tr(P, "Stuffed crust, please.", 5.8), 5.8)
    assert out == [Interrupt(5.0, "Stuffed crust, please.", doubtful=True), Eager(False)]


def test_words_that_mean_nothing_to_the_agent_keep_the_bot_ducked():
    """The bench's Kokoro "Uh-huh." was "Both of course." then "Both have them.": words twice,
    and they stopped the bot. When the agent can tell, words that mean nothing to it do not
    stop the bot; its final meaning nothing brings it back to full volume."""
    meant = {"Stuffed crust, please."}
    tt = TurnTaker(replace(TurnSettings(), overlap="duck"), means=meant.__contains__)
    tt.on_bot_speaking(True, 0.0)
    assert tt.on_event(SpeechStarted(1.0), 1.0) == [Pause(1.0, duck=True)]
    assert tt.on_event(tr(P, "Both of course.", 1.3), 1.3) == [Eager(True, soon=True)]
    assert tt.on_event(tr(P, "Both have them.", 1.45), 1.45) == [Eager(True, soon=True)]
    tt.on_event(SpeechStopped(1.6), 1.7)
    out = tt.on_event(tr(F, "Both have them.", 2.5), 2.5)
    assert out == [Resume("nothing meant by 'Both have them.'")]
    assert tt.bot_speaking and not tt.paused
    # Words that come to mean something stop it, however many looks that took.
    tt.on_event(SpeechStarted(5.0), 5.0)
    assert tt.on_event(tr(P, "That's stuff.", 5.4), 5.4) == [Eager(True, soon=True)]
    assert tt.on_event(tr(P, "That's stuffed.", 5.55), 5.55) == [Eager(True, soon=True)]
    out = tt.on_event(tr(P, "Stuffed crust, please.", 5.7), 5.7)
    assert out == [Interrupt(5.0, "Stuffed crust, please.", doubtful=True), Eager(False)]


def test_ducked_speech_that_means_nothing_yet_still_interrupts_when_it_goes_on():
    tt = TurnTaker(
        replace(TurnSettings(), overlap="duck", interrupt_after_ms=1200), means=lambda t: False
    )
    tt.on_bot_speaking(True, 0.0)
    tt.on_event(SpeechStarted(1.0), 1.0)
    assert tt.on_event(tr(P, "Make it.", 1.3), 1.3) == [Eager(True, soon=True)]
    assert tt.on_event(tr(P, "Make it a-", 1.45), 1.45) == [Eager(True, soon=True)]
    assert tt.tick(2.1) == []
    assert tt.tick(2.2) == [Interrupt(1.0, "Make it a-", doubtful=True), Eager(False)]


def test_a_long_backchannel_whose_looks_are_fillers_does_not_stop_the_bot():
    """A slow flite "Mm-hmm, yeah." lasts over 1.2 s: every look at it was a filler, and the
    ducked-speech rule stopped it all the same. That rule counts from the latest filler."""
    tt = turn_taker(overlap="duck", interrupt_after_ms=1200)
    tt.on_bot_speaking(True, 0.0)
    tt.on_event(SpeechStarted(1.0), 1.0)
    assert tt.on_event(tr(P, "Mm.", 1.25), 1.25) == []
    assert tt.on_event(tr(P, "Mm-hmm.", 1.9), 1.9) == []
    assert tt.tick(2.3) == []
    assert tt.on_event(tr(P, "Mm-hmm. Yeah.", 2.4), 2.4) == []
    tt.on_event(SpeechStopped(2.5), 2.6)
    assert tt.on_event(tr(F, "Mm-hmm, yeah.", 3.3), 3.3) == [Resume("filler 'Mm-hmm, yeah.'")]
    # Speech that goes on past a filler ("Okay, ... I'll have a-") still interrupts.
    tt.on_event(SpeechStarted(5.0), 5.0)
    assert tt.on_event(tr(P, "Okay.", 5.3), 5.3) == []
    assert tt.tick(6.4) == []
    assert tt.tick(6.5) == [Interrupt(5.0, "", doubtful=True), Eager(False)]


def test_an_interruption_word_stops_the_bot_whatever_the_agent_makes_of_it():
    tt = TurnTaker(replace(TurnSettings(), overlap="duck"), means=lambda t: False)
    tt.on_bot_speaking(True, 0.0)
    tt.on_event(SpeechStarted(1.0), 1.0)
    assert tt.on_event(tr(P, "Wait.", 1.3), 1.3) == [Interrupt(1.0, "Wait."), Eager(False)]


def test_an_interruption_word_on_the_second_look_leaves_the_stop_in_doubt():
    """A Kokoro "Mm-hmm." was "In it?" on its first look and "No." on its second: it stops
    the bot, but if its words then mean nothing to the agent, the bot goes on."""
    tt = turn_taker(overlap="duck")
    tt.on_bot_speaking(True, 0.0)
    tt.on_event(SpeechStarted(1.0), 1.0)
    assert tt.on_event(tr(P, "In it?", 1.3), 1.3) == [Eager(True, soon=True)]
    out = tt.on_event(tr(P, "No.", 1.45), 1.45)
    assert out == [Interrupt(1.0, "No.", doubtful=True), Eager(False)]


def test_words_that_go_on_from_a_filler_interrupt_on_the_first_look():
    tt = turn_taker(overlap="duck")
    tt.on_bot_speaking(True, 0.0)
    tt.on_event(SpeechStarted(1.0), 1.0)
    assert tt.on_event(tr(P, "Okay.", 1.3), 1.3) == []
    out = tt.on_event(tr(P, "Okay, I'll have a-", 1.6), 1.6)
    assert out == [Interrupt(1.0, "Okay, I'll have a-"), Eager(False)]


def test_a_final_that_repeats_its_interim_is_no_second_look():
    tt = turn_taker(overlap="duck", resume_after_s=1.5)
    tt.on_bot_speaking(True, 0.0)
    tt.on_event(SpeechStarted(1.0), 1.0)
    tt.on_event(SpeechStopped(1.5), 1.6)
    assert tt.on_event(tr(INTERIM, "Both of us.", 2.0), 2.0) == [Eager(True, soon=True)]
    assert tt.on_event(tr(F, "Both of us.", 2.4), 2.4) == [Eager(True, soon=True)]
    assert tt.tick(3.1) == [Resume("no words")]
    assert tt.bot_speaking


def test_an_interruption_word_stops_the_bot_on_the_first_look():
    for text in ("Wait.", "Sorry", "Actually, is there", "Hold on.", "Nope."):
        tt = turn_taker(overlap="duck")
        tt.on_bot_speaking(True, 0.0)
        tt.on_event(SpeechStarted(1.0), 1.0)
        assert tt.on_event(tr(P, text, 1.3), 1.3) == [Interrupt(1.0, text), Eager(False)], text


def test_a_lone_condition_waits_for_its_question():
    """The Riva-stack bench: "If I don't like the bike?" came as a final in the comma's pause
    of "If I don't like the bike, how many days do I have to return it?"."""
    tt = turn_taker(unfinished_wait_s=1.2)
    assert tt.on_event(tr(F, "If I don't like the bike?", 2.0), 2.0) == []
    tt.on_event(SpeechStarted(2.1), 2.1)
    tt.on_event(SpeechStopped(3.4), 3.45)
    assert tt.on_event(tr(F, "How many days do I have to return it?", 4.2), 4.2) == [
        Respond("If I don't like the bike? How many days do I have to return it?", speech_end=3.9)
    ]
    for text in ("If I don't like it, can I return it?", "When do you close?", "Is it free?"):
        assert not unfinished(text), text
    assert unfinished("Unless it rains.") and unfinished("if the bike is too big")


def test_an_unfinished_sentence_waits_for_its_rest_and_joins_it():
    tt = turn_taker(unfinished_wait_s=1.2)
    assert tt.on_event(tr(F, "I'd like a large pizza with", 2.0), 2.0) == []
    assert tt.tick(2.5) == []
    tt.on_event(SpeechStarted(2.6), 2.6)
    tt.on_event(SpeechStopped(3.4), 3.5)
    assert tt.on_event(tr(F, "pepperoni.", 4.2), 4.2) == [
        Respond("I'd like a large pizza with pepperoni.", speech_end=3.9)
    ]


def test_an_unfinished_sentence_wants_the_onset_of_its_rest():
    """A recognizer that endpoints by itself has the VAD run only where onsets are wanted: the
    rest's onset must reach the turn taker, or the held half is answered while it is said."""
    tt = turn_taker(mode="interim", unfinished_wait_s=1.2)
    assert not tt.wants_onsets
    assert tt.on_event(tr(F, "I'll have a large pizza with...", 2.0), 2.0) == []
    assert tt.wants_onsets
    tt.on_event(SpeechStarted(2.3), 2.3)
    assert tt.tick(3.5) == []  # 1.5 s after the hold, the caller still talking
    tt.on_event(SpeechStopped(4.0), 4.05)
    assert tt.tick(4.3) == []
    whole = "I'll have a large pizza with... ham and pineapple, thin crust."
    assert tt.on_event(tr(F, "ham and pineapple, thin crust.", 4.8), 4.8) == [
        Respond(whole, speech_end=4.5)
    ]
    assert not tt.wants_onsets


def test_an_unfinished_sentence_waits_through_a_pause_inside_its_rest():
    """The rest may pause at a comma ("ham and pineapple, thin crust"): the wait counts from
    the caller's latest stop, so the held half is not answered alone in that pause."""
    tt = turn_taker(unfinished_wait_s=1.2)
    assert tt.on_event(tr(F, "I'll have a large pizza with...", 2.0), 2.0) == []
    tt.on_event(SpeechStarted(2.1), 2.1)
    tt.on_event(SpeechStopped(3.0), 3.05)
    assert tt.tick(3.3) == []  # 1.3 s after the hold, 0.3 s into the comma's pause
    tt.on_event(SpeechStarted(3.35), 3.35)
    tt.on_event(SpeechStopped(4.0), 4.05)
    assert tt.tick(4.8) == []
    assert tt.on_event(tr(F, "ham and pineapple, thin crust.", 5.0), 5.0) == [
        Respond("I'll have a large pizza with... ham and pineapple, thin crust.", speech_end=4.7)
    ]


def test_an_early_reply_to_the_rest_of_an_unfinished_sentence_answers_the_whole():
    tt = turn_taker(mode="interim", unfinished_wait_s=1.2)
    assert tt.on_event(tr(F, "A large pizza with", 2.0), 2.0) == []
    tt.on_event(SpeechStarted(2.2), 2.2)
    tt.on_event(SpeechStopped(3.0), 3.05)
    assert tt.on_event(tr(INTERIM, "ham on thin crust.", 3.3), 3.3) == [
        Respond("A large pizza with ham on thin crust.", speculative=True, speech_end=3.0)
    ]
    assert tt.tick(4.5) == []  # the early reply is in flight: the hold waits for the final
    assert tt.on_event(tr(F, "ham on thin crust.", 3.9), 3.9) == [Confirm()]


def test_a_released_reply_to_the_rest_of_an_unfinished_sentence_is_confirmed_by_its_final():
    """The bench's "I'll have a large pizza with... [900 ms] ham and pineapple, thin crust.":
    the reply to the whole was released and talking when the rest's final came; compared with
    the rest alone it was interrupted and the rest answered without "a large pizza"."""
    tt = held(unfinished_wait_s=1.2)
    assert tt.on_event(tr(F, "I'll have a large pizza with...", 2.0), 2.0) == []
    tt.on_event(SpeechStarted(2.2), 2.2)
    tt.on_event(SpeechStopped(3.0), 3.0)
    whole = "I'll have a large pizza with... Ham and pineapple, thin crust."
    assert tt.on_event(Transcript(INTERIM, "Ham and pineapple, thin crust.", 3.3, 3.0), 3.3) == [
        Respond(whole, speculative=True, speech_end=3.0)
    ]
    assert tt.tick(3.4) == [Release()]
    tt.on_bot_speaking(True, 3.5)
    assert tt.on_event(tr(F, "Ham and pineapple, thin crust.", 3.9), 3.9) == [Confirm()]
    assert tt.held is None


def test_an_unfinished_sentence_is_answered_when_nothing_follows():
    tt = turn_taker(unfinished_wait_s=1.2)
    assert tt.on_event(tr(F, "A small one with, um", 2.0), 2.0) == []
    assert tt.tick(3.1) == []
    assert tt.tick(3.25) == [Respond("A small one with, um", speech_end=1.7)]
    # Finished sentences are answered at once, questions ending on a verb too.
    tt.on_reply_done(5.0)
    assert tt.on_event(tr(F, "What toppings do you have?", 9.0), 9.0) == [
        Respond("What toppings do you have?", speech_end=8.7)
    ]


def test_an_early_reply_to_an_unfinished_sentence_is_never_started():
    tt = turn_taker(mode="interim", unfinished_wait_s=1.2)
    assert tt.on_event(tr(INTERIM, "a medium pizza with", 1.3), 1.3) == []
    assert tt.on_event(tr(INTERIM, "a medium pizza", 5.3), 5.3) == [
        Respond("a medium pizza", speculative=True, speech_end=5.0)
    ]


def test_words_heard_before_barge_in_min_ms_interrupt_once_speech_has_lasted():
    """A fast recognizer's first word comes before barge_in_min_ms: ducked, the bot talks on,
    so the word is kept and decided at the next tick rather than waiting for more words."""
    tt = turn_taker(overlap="duck", barge_in_min_ms=200)
    tt.on_bot_speaking(True, 0.0)
    tt.on_event(SpeechStarted(1.0), 1.0)
    assert tt.on_event(tr(P, "wait,", 1.1), 1.1) == []
    assert tt.tick(1.15) == []
    assert tt.tick(1.21) == [Interrupt(1.0, "wait,"), Eager(False)]


def test_early_words_that_turn_out_a_filler_do_not_interrupt():
    tt = turn_taker(overlap="duck", barge_in_min_ms=200)
    tt.on_bot_speaking(True, 0.0)
    tt.on_event(SpeechStarted(1.0), 1.0)
    tt.on_event(tr(P, "mmm hm", 1.1), 1.1)
    tt.on_event(tr(P, "mm-hmm", 1.15), 1.15)
    assert tt.tick(1.3) == []


# --- early release of a held reply (release_after_ms) --------------------------------------


def held(**over) -> TurnTaker:
    return turn_taker(
        mode="interim", hold_playback_until_confirmed=True, release_after_ms=400, **over
    )


def test_a_whole_sentence_is_released_after_400_ms_of_silence_before_its_final():
    tt = held()
    tt.on_event(SpeechStopped(1.0), 1.0)
    out = tt.on_event(Transcript(INTERIM, "A large pizza, please.", 1.3, speech_end=1.0), 1.3)
    assert out == [Respond("A large pizza, please.", speculative=True, speech_end=1.0)]
    assert tt.tick(1.35) == []  # 350 ms of silence: not yet
    assert tt.tick(1.4) == [Release()]
    assert tt.tick(1.45) == []  # once
    tt.on_bot_speaking(True, 1.5)
    assert tt.on_event(tr(F, "a large pizza please", 1.8), 1.8) == [Confirm()]


def test_a_sentence_that_trails_off_waits_for_the_final():
    for text in ("I'll have a large pizza with...", "If I don't like the bike,", "Can I",
                 "A large pizza with", "a large pizza"):  # fmt: skip
        tt = held()
        tt.on_event(Transcript(INTERIM, text, 1.3, speech_end=1.0), 1.3)
        assert tt.tick(1.5) == [] and tt.tick(1.75) == [], text


def test_whole_sentence_reads_the_transcript_shape():
    assert whole_sentence("Yes.") and whole_sentence("What toppings do you have?")
    assert whole_sentence("No, that's all!")
    assert whole_sentence("If I don't like it, can I return it?")
    assert whole_sentence("When do you close?") and whole_sentence("Since when?")
    for text in ("", "with...", "bike,", "Can I.", "a large pizza with.", "thin crust",
                 "If I don't like the bike.", "If I don't like the bike?",
                 "Unless it rains?"):  # fmt: skip
        assert not whole_sentence(text), text


def test_no_release_without_the_setting_or_while_the_caller_talks():
    tt = turn_taker(mode="interim", hold_playback_until_confirmed=True)
    tt.on_event(Transcript(INTERIM, "Yes.", 1.3, speech_end=1.0), 1.3)
    assert tt.tick(2.0) == []
    tt = held()
    tt.on_event(Transcript(INTERIM, "Yes.", 1.3, speech_end=1.0), 1.3)
    assert tt.pausable  # a loud frame is an onset at once: Silero's comes 100-300 ms late
    assert tt.on_event(SpeechStarted(1.35), 1.35) == []  # nothing heard yet: no cancel
    assert tt.tick(1.6) == []


def test_a_sound_that_was_not_speech_lets_the_release_go_on():
    tt = held()
    tt.on_event(Transcript(INTERIM, "Yes.", 1.3, speech_end=1.0), 1.3)
    tt.on_event(SpeechStarted(1.35), 1.35)
    assert tt.tick(1.45) == []
    tt.on_event(SpeechStopped(1.5, noise=True), 1.5)
    assert tt.tick(1.55) == [Release()]


def test_speech_after_the_early_words_leaves_the_turn_to_the_final():
    tt = held()
    tt.on_event(Transcript(INTERIM, "Thick crust, medium.", 1.3, speech_end=1.0), 1.3)
    tt.on_event(SpeechStarted(1.35), 1.35)
    tt.on_event(SpeechStopped(2.2), 2.2)
    assert tt.tick(2.7) == []  # the early words are stale: no release
    whole = "Thick crust, medium, with bacon."
    assert tt.on_event(Transcript(F, whole, 3.0, speech_end=2.2), 3.0) == [
        Cancel("final transcript differs"),
        Respond(whole, replace=True, speech_end=2.2),
    ]


def test_a_second_interim_of_the_whole_sentence_is_released_before_its_final():
    """The recognizer sends an interim after each pause (``speech/utterances.py``): the reply
    to the whole sentence is heard 400 ms after the caller stops, not after the final."""
    tt = held()
    tt.on_event(Transcript(INTERIM, "Thick crust, medium.", 1.3, speech_end=1.0), 1.3)
    tt.on_event(SpeechStarted(1.35), 1.35)
    tt.on_event(SpeechStopped(2.2), 2.2)
    whole = "Thick crust, medium, with bacon."
    assert tt.on_event(Transcript(INTERIM, whole, 2.45, speech_end=2.2), 2.45) == [
        Cancel("transcript changed"),
        Respond(whole, speculative=True, replace=True, speech_end=2.2),
    ]
    assert tt.tick(2.55) == []
    assert tt.tick(2.6) == [Release()]
    tt.on_bot_speaking(True, 2.7)
    assert tt.on_event(Transcript(F, whole, 3.0, speech_end=2.2), 3.0) == [Confirm()]


def test_speech_after_a_release_stops_the_early_reply_at_once_and_replaces_its_turn():
    """The caller paused 400 ms inside a sentence and goes on: no duck, no wait for words."""
    tt = held()
    tt.on_event(Transcript(INTERIM, "I'll have a large pizza.", 1.3, speech_end=1.0), 1.3)
    assert tt.tick(1.4) == [Release()]
    tt.on_bot_speaking(True, 1.5)
    assert tt.on_event(SpeechStarted(1.6), 1.65) == [Interrupt(1.6, ""), Eager(False)]
    tt.on_bot_speaking(False, 1.7)
    tt.on_event(SpeechStopped(2.5), 2.5)
    whole = "I'll have a large pizza with ham and pineapple."
    assert tt.on_event(Transcript(F, whole, 3.3, speech_end=2.5), 3.3) == [
        Respond(whole, replace=True, speech_end=2.5)
    ]


def test_a_released_reply_is_retriggered_when_the_final_differs():
    tt = held()
    tt.on_event(Transcript(INTERIM, "A large pizza.", 1.3, speech_end=1.0), 1.3)
    assert tt.tick(1.4) == [Release()]
    tt.on_bot_speaking(True, 1.5)
    out = tt.on_event(Transcript(F, "A large ham pizza.", 1.8, speech_end=1.0), 1.8)
    assert isinstance(out[0], Interrupt)
    assert out[-1] == Respond("A large ham pizza.", replace=True, speech_end=1.0)


def test_one_short_syllable_said_twice_is_a_backchannel_but_no_no_is_not():
    tt = turn_taker()
    for text in ("In-in?", "Mm-mm.", "hmm hmm", "Uh-huh."):
        assert tt.is_filler(text), text
    for text in ("No, no.", "Wait, wait.", "Stop stop", "in and out"):
        assert not tt.is_filler(text), text
