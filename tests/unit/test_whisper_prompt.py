"""Whisper's prompt: the bot's example sentence, else a sentence around its vocabulary."""

from voxline.speech.base import RecognizerHints
from voxline.speech.whisper import BACKCHANNEL_PROMPT, utterance_prompt, whisper_prompt


def test_the_bots_example_sentence_is_the_prompt():
    hints = RecognizerHints(phrases=("pepperoni", "thin"), example="A large pepperoni, please.")
    assert whisper_prompt(hints) == "A large pepperoni, please."


def test_a_vocabulary_alone_is_framed_by_short_answers():
    prompt = whisper_prompt(RecognizerHints(phrases=("Kestrel", "Heron")))
    assert prompt.startswith("Yes. No") and "Kestrel, Heron" in prompt
    assert whisper_prompt(RecognizerHints()) == ""


def test_the_bot_words_the_caller_answers_come_last():
    hints = RecognizerHints(example="A large pepperoni, please.")
    prompt = whisper_prompt(hints, "Which crust would you like?")
    assert prompt == "A large pepperoni, please. Which crust would you like?"
    assert whisper_prompt(RecognizerHints(), "Anything else?") == "Anything else?"


def test_a_knowledge_base_s_topics_follow_the_example():
    hints = RecognizerHints(example="Hello.", topics=("test rides", "parking", "delivery"))
    prompt = whisper_prompt(hints, "What would you like to know?")
    assert prompt == (
        "Hello. Ask about test rides, parking and delivery. What would you like to know?"
    )
    assert whisper_prompt(RecognizerHints(topics=("parking",))) == "Ask about parking."


def test_speech_begun_over_the_bot_is_prompted_as_a_backchannel_not_an_answer():
    hints = RecognizerHints(example="A large pepperoni, please.")
    over = utterance_prompt(hints, True, "Which crust would you like?")
    assert over == BACKCHANNEL_PROMPT + "A large pepperoni, please."
    answer = utterance_prompt(hints, False, "Which crust would you like?")
    assert answer == "A large pepperoni, please. Which crust would you like?"
