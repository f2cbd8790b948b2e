"""Retrieval quality on the sample bot's documents and question set (bots/rag/questions.yaml).

Prints top-1/top-3 for dense-only, keyword-only (FTS5 bm25) and hybrid (reciprocal-rank
fusion) retrieval; hybrid is the default because it measured best. Also checks the offline
relevance threshold separates answerable from off-topic questions.
"""

from pathlib import Path

import pytest
import yaml

from voxline.kb.answer import EmbedCache, extract_answer
from voxline.kb.embed import get_embedder
from voxline.kb.search import search
from voxline.kb.store import KnowledgeStore

BOT = Path(__file__).resolve().parents[2] / "bots" / "rag"
QUESTIONS = yaml.safe_load((BOT / "questions.yaml").read_text())


@pytest.fixture(scope="module")
def store():
    s = KnowledgeStore(":memory:", get_embedder().encode)
    for path in sorted((BOT / "docs").iterdir()):
        s.add(path.name, path.read_bytes())
    yield s
    s.close()


def rank_of_answer(store, item, mode) -> int | None:
    hits = search(store, item["q"], 3, mode)
    for rank, hit in enumerate(hits, 1):
        if all(e.lower() in hit.text.lower() for e in item["expect"]):
            return rank
    return None


def test_top1_top3_per_mode(store, capsys):
    results = {}
    for mode in ("vector", "keyword", "hybrid"):
        ranks = [rank_of_answer(store, item, mode) for item in QUESTIONS["answerable"]]
        n = len(ranks)
        results[mode] = (sum(r == 1 for r in ranks) / n, sum(r is not None for r in ranks) / n)
    with capsys.disabled():
        print(f"\nretrieval on {len(QUESTIONS['answerable'])} questions (top-1, top-3):")
        for mode, (t1, t3) in results.items():
            print(f"  {mode:8s} top-1 {t1:.2f}  top-3 {t3:.2f}")
    assert results["hybrid"][0] >= 0.85 and results["hybrid"][1] >= 0.95
    assert results["hybrid"][0] >= results["vector"][0]
    assert results["hybrid"][0] >= results["keyword"][0]


def test_sentence_relevance_separates_off_topic_questions(store):
    embed = EmbedCache(get_embedder().encode)
    answerable = [
        extract_answer(i["q"], search(store, i["q"], 3), embed).score
        for i in QUESTIONS["answerable"]
    ]
    off_topic = [extract_answer(q, search(store, q, 3), embed).score
                 for q in QUESTIONS["unanswerable"]]  # fmt: skip
    assert min(answerable) > 0.35 > max(off_topic)
