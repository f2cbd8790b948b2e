"""Sentence splitting, streamed sentences and overlapping chunks (pure functions)."""

import itertools

from voxline.kb.chunk import chunk_text
from voxline.kb.text import SentenceStream, split_sentences


def test_sentences_respect_abbreviations_decimals_and_headings():
    text = "Opening hours\nDr. Varga opened it in 2011. It costs 3.5 euros! Open? Yes, e.g. daily."
    assert split_sentences(text) == [
        "Opening hours",
        "Dr. Varga opened it in 2011.",
        "It costs 3.5 euros!",
        "Open?",
        "Yes, e.g. daily.",
    ]


def test_a_wrapped_line_that_starts_with_a_number_goes_on_the_sentence():
    """Documents wrap their lines: "limited to\n25 kilometres per hour" is one sentence (it was
    cut as if "25" began a numbered list, and the bot never knew how fast the bikes go)."""
    text = (
        "We make three bikes. All of them use our own motor, which is limited to\n"
        "25 kilometres per hour. Here is what to do before the first ride on your bike\n"
        "2) Ride it."
    )
    assert split_sentences(text) == [
        "We make three bikes.",
        "All of them use our own motor, which is limited to 25 kilometres per hour.",
        "Here is what to do before the first ride on your bike",
        "2) Ride it.",  # a numbered list's item still starts a sentence
    ]


def test_sentence_stream_releases_each_sentence_once_complete():
    stream = SentenceStream()
    out = []
    for delta in ["Hel", "lo there. It co", "sts 3.", "5 euros! And", " more"]:
        out.append(stream.push(delta))
    assert out == [[], ["Hello there."], [], ["It costs 3.5 euros!"], []]
    assert stream.flush() == ["And more"]
    assert stream.flush() == []


def test_chunks_overlap_and_cover_every_sentence():
    sentences = [f"Fact number {i} is about topic {i}." for i in range(40)]
    chunks = chunk_text(" ".join(sentences), max_chars=200, overlap_chars=60)
    assert all(len(c.text) <= 200 for c in chunks)
    assert [c.position for c in chunks] == list(range(len(chunks)))
    joined = "\n".join(c.text for c in chunks)
    assert all(s in joined for s in sentences)
    for a, b in itertools.pairwise(chunks):
        assert a.text.split("\n")[-1] == b.text.split("\n")[0]  # one shared sentence
        assert b.start > a.start


def test_overlong_sentence_is_cut_at_words():
    chunks = chunk_text("word " * 300, max_chars=100, overlap_chars=0)
    assert all(0 < len(c.text) <= 100 for c in chunks)
    assert sum(len(c.text.split()) for c in chunks) == 300
