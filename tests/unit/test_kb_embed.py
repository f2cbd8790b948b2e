"""MiniLM in numpy matches sentence-transformers' all-MiniLM-L6-v2."""

import numpy as np
import pytest

from voxline.kb.embed import DIM, get_embedder


@pytest.fixture(scope="module")
def model():
    return get_embedder()


def test_matches_the_reference_similarities(model):
    # sentence-transformers' documented example for this model: 0.6660, 0.1046, 0.1411.
    vectors = model.encode(
        ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]
    )
    sims = vectors @ vectors.T
    assert sims[0, 1] == pytest.approx(0.6660, abs=5e-4)
    assert sims[0, 2] == pytest.approx(0.1046, abs=5e-4)
    assert sims[1, 2] == pytest.approx(0.1411, abs=5e-4)


def test_unit_vectors_independent_of_batch_padding(model):
    texts = ["short", "a much longer sentence about warranty claims and opening hours " * 3]
    together = model.encode(texts)
    alone = np.stack([model.encode_one(t) for t in texts])
    assert together.shape == (2, DIM) and together.dtype == np.float32
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    assert np.allclose(together, alone, atol=1e-5)


def test_long_text_is_truncated_not_rejected(model):
    assert model.encode(["word " * 2000]).shape == (1, DIM)
