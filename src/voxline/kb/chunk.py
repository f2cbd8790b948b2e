"""Split a document's text into overlapping chunks of whole sentences (pure).

MiniLM reads at most 256 word pieces and was trained on short passages, so chunks are a few
sentences (about 600 characters). Each chunk repeats the last sentence(s) of the previous one
(about 120 characters) so a fact that straddles a boundary is still found with its context.
Sentences are joined by newlines so headings stay recognisable when a chunk is split again.
"""

from __future__ import annotations

from dataclasses import dataclass

from voxline.kb.text import split_sentences


@dataclass(frozen=True, slots=True)
class Chunk:
    position: int  # ordinal within the document
    start: int  # approximate character offset of the chunk in the document text
    text: str


def chunk_text(text: str, max_chars: int = 600, overlap_chars: int = 120) -> list[Chunk]:
    if max_chars <= 0 or overlap_chars < 0 or overlap_chars >= max_chars:
        raise ValueError("need 0 <= overlap_chars < max_chars")
    sentences: list[tuple[int, str]] = []
    cursor = 0
    for sentence in split_sentences(text):
        # Overlong "sentences" (tables, lists without punctuation) are cut at word boundaries.
        while len(sentence) > max_chars:
            cut = sentence.rfind(" ", 0, max_chars)
            cut = cut if cut > 0 else max_chars
            sentences.append((cursor, sentence[:cut]))
            cursor += cut
            sentence = sentence[cut:].strip()
        found = text.find(sentence[:20], cursor)
        cursor = found if found >= 0 else cursor
        sentences.append((cursor, sentence))

    chunks: list[Chunk] = []
    i = 0
    while i < len(sentences):
        j, size = i, 0
        while j < len(sentences) and (j == i or size + len(sentences[j][1]) + 1 <= max_chars):
            size += len(sentences[j][1]) + 1
            j += 1
        chunks.append(Chunk(len(chunks), sentences[i][0], "\n".join(s for _, s in sentences[i:j])))
        if j >= len(sentences):
            break
        # Step back over trailing sentences that fit in the overlap, but always move forward.
        back, k = 0, j
        while k - 1 > i and back + len(sentences[k - 1][1]) <= overlap_chars:
            back += len(sentences[k - 1][1]) + 1
            k -= 1
        i = k
    return chunks
