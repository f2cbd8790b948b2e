"""Add, replace-on-change, unchanged re-add and delete keep all four tables consistent."""

import pytest

from tests.unit.test_kb_ingest import make_pdf
from voxline.kb.embed import get_embedder
from voxline.kb.search import search
from voxline.kb.store import KnowledgeStore


@pytest.fixture
def store(tmp_path):
    s = KnowledgeStore(tmp_path / "kb" / "bot.sqlite", get_embedder().encode)
    yield s
    s.close()


def counts(store: KnowledgeStore) -> tuple[int, ...]:
    db = store._db
    return tuple(
        db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
        for t in ("documents", "chunks", "chunks_vec", "chunks_fts")
    )


def test_each_type_is_ingested_and_searchable(store):
    store.add("hours.txt", b"The showroom opens at nine on weekdays.")
    store.add("team.md", b"# Team\n\nOur founder is **Imelda Varga**.")
    store.add("ship.html", b"<html><body><p>Delivery takes three to five working days "
              b"anywhere in the country.</p></body></html>")  # fmt: skip
    store.add("warranty.pdf", make_pdf(["The frame warranty lasts seven years."]))
    assert [d.name for d in store.documents()] == ["hours.txt", "ship.html", "team.md",
                                                   "warranty.pdf"]  # fmt: skip
    assert [d.kind for d in store.documents()] == ["text", "html", "markdown", "pdf"]
    for question, doc in [
        ("who founded the company", "team.md"),
        ("how long is the frame guarantee", "warranty.pdf"),
        ("when does the showroom open", "hours.txt"),
        ("how long does shipping take", "ship.html"),
    ]:
        assert search(store, question, 1)[0].document == doc


def test_replace_on_change_unchanged_and_remove(store):
    first = store.add("faq.txt", b"Parking is free for twenty minutes.")
    assert (first.status, first.chunks) == ("added", 1)
    assert store.add("faq.txt", b"Parking is free for twenty minutes.").status == "unchanged"
    assert counts(store) == (1, 1, 1, 1)

    second = store.add("faq.txt", b"Parking now costs two euros an hour.")
    assert second.status == "replaced"
    assert counts(store) == (1, 1, 1, 1)
    hits = search(store, "parking", 3)
    assert [h.text for h in hits] == ["Parking now costs two euros an hour."]
    assert store.documents()[0].sha256 != ""

    assert store.remove("faq.txt") is True
    assert store.remove("faq.txt") is False
    assert counts(store) == (0, 0, 0, 0)
    assert search(store, "parking", 3) == []


def test_failed_ingest_leaves_the_old_version(store):
    store.add("a.pdf", make_pdf(["Original text here."]))
    with pytest.raises(ValueError):
        store.add("a.pdf", b"%PDF-1.4 truncated")
    assert counts(store) == (1, 1, 1, 1)


def test_reopen_keeps_data(tmp_path):
    path = tmp_path / "kb.sqlite"
    s = KnowledgeStore(path, get_embedder().encode)
    s.add("a.txt", b"Crows gather on the harbour wall every evening.")
    s.close()
    s = KnowledgeStore(path, get_embedder().encode)
    assert search(s, "birds on the harbour", 1)[0].document == "a.txt"
    s.close()


def test_keyword_query_never_breaks_fts_syntax(store):
    store.add("a.txt", b"Model K-200 costs 590 euros.")
    for q in ['"unbalanced', "AND OR NOT", "K-200*", "(x", "what's it?"]:
        search(store, q, 3)  # must not raise
