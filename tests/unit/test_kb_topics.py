"""A knowledge base's topics: its documents' headings, as the recognizer is told them."""

from pathlib import Path

from voxline.bot import load_bot
from voxline.kb.topics import document_topics, headings, phrases

BOTS = Path(__file__).resolve().parents[2] / "bots"


def test_headings_of_markdown_html_and_plain_text():
    assert headings("# The range\n\nText.\n## Kestrel: the city bike\n", ".md") == [
        "The range",
        "Kestrel: the city bike",
    ]
    html = "<h1>The warranty</h1><p>Two years.</p><h2 id=x>How to make a <b>claim</b></h2>"
    assert headings(html, ".html") == ["The warranty", "How to make a  claim "]
    text = "Opening hours\n\nTest rides\nThey are free. Book one.\n\nA line that ends.\n"
    assert headings(text, ".txt") == ["Opening hours", "Test rides"]


def test_a_heading_s_subjects_are_its_runs_of_content_words():
    assert phrases("Kestrel: the city bike") == ["kestrel", "city bike"]
    assert phrases("Orders, delivery, returns and servicing") == [
        "orders", "delivery", "returns", "servicing"
    ]  # fmt: skip
    assert phrases("What we believe") == []  # how the document is laid out, not a subject


def test_the_rag_bot_s_documents_name_what_callers_ask_about():
    bot = load_bot(BOTS / "rag")
    for topic in ("test rides", "service workshop", "parking", "batteries", "delivery"):
        assert topic in bot.topics
    assert not any("kestrel" in t or "corvid" in t for t in bot.topics)  # its names already
    assert load_bot(BOTS / "pizza").topics == ()  # no knowledge base


def test_unreadable_files_are_skipped_and_kb_topics_false_turns_it_off(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# Parking\n\nCars only.\n")
    (docs / "b.bin").write_bytes(b"\xff\xfe\x00")
    assert document_topics(docs) == ("parking",)
    (tmp_path / "bot.yaml").write_text(
        "name: T\nagent: rag\nspeech: {kb_topics: false}\nkb: {documents: docs}\n"
    )
    assert load_bot(tmp_path).topics == ()
    (tmp_path / "bot.yaml").write_text("name: T\nagent: rag\nkb: {documents: docs}\n")
    assert load_bot(tmp_path).topics == ("parking",)
