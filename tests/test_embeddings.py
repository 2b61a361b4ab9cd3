"""The offline embedding model: meaning-aware similarity, unit rows, no network."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from offline_runs import run_without_network

from llmbench import embeddings

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def test_paraphrases_score_high_and_unrelated_text_low() -> None:
    anchor = "The capital of France is Paris"

    paraphrase = embeddings.similarity(anchor, "Paris is France's capital city")
    unrelated = embeddings.similarity(anchor, "I like turtles")

    assert paraphrase > 0.8
    assert unrelated < 0.3


def test_embed_returns_float32_unit_rows() -> None:
    texts = ["a cat sat on the mat", "stock prices fell sharply", "hello"]

    vectors = embeddings.embed(texts)

    assert vectors.dtype == np.float32
    assert vectors.shape == (3, embeddings.DIMENSIONS)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_text_without_tokens_gets_a_zero_row_without_warning() -> None:
    vectors = embeddings.embed(["", "a real sentence"])

    assert not np.isnan(vectors).any()
    assert np.linalg.norm(vectors[0]) == 0.0
    assert embeddings.similarity("", "a real sentence") == 0.0


def test_a_single_string_is_one_text_and_an_empty_batch_is_empty() -> None:
    single = embeddings.embed("just one sentence")
    empty = embeddings.embed([])

    assert single.shape == (1, embeddings.DIMENSIONS)
    assert empty.shape == (0, embeddings.DIMENSIONS)


def test_similarity_matrix_has_one_row_per_query() -> None:
    queries = ["Where is the Eiffel Tower?", "How do plants make food?"]
    documents = [
        "Photosynthesis turns light into chemical energy in plants.",
        "The Eiffel Tower stands in Paris.",
        "Turtles are reptiles.",
    ]

    scores = embeddings.similarity_matrix(queries, documents)

    assert scores.shape == (2, 3)
    assert scores.dtype == np.float32
    assert int(scores[0].argmax()) == 1
    assert int(scores[1].argmax()) == 0
    assert float(scores.min()) >= -1.0
    assert float(scores.max()) <= 1.0


def test_the_model_loads_offline_and_leaves_root_logging_alone() -> None:
    done = run_without_network(
        """
        import logging

        root = logging.getLogger()
        before = (root.level, len(root.handlers))

        from llmbench import embeddings
        score = embeddings.similarity(
            "The capital of France is Paris", "Paris is France's capital city"
        )
        after = (root.level, len(root.handlers))
        print(len(attempts), round(score, 3), before == after)
        """
    )

    assert done.returncode == 0, done.stderr
    attempts, score, root_logging_kept = done.stdout.split()
    assert attempts == "0"
    assert float(score) > 0.8
    assert root_logging_kept == "True"


@pytest.mark.parametrize("texts", [["x"] * 3, ["same words", "same words"]])
def test_embeddings_are_deterministic(texts: list[str]) -> None:
    first = embeddings.embed(texts)
    second = embeddings.embed(texts)

    np.testing.assert_array_equal(first, second)
