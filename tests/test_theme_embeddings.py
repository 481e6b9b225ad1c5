"""The optional sentence-embedding path of the themes (storage/embeddings.py, core.themes).

No real model is downloaded: the test builds a tiny one itself — a word-level tokenizer over the
paraphrase set's words and an ONNX graph that looks each token's vector up in a table (token states
``[batch, tokens, dim]``, mean-pooled by the loader). The table puts a word near the ideas it is used
for, like a trained model does, and gives the padding token a large vector, so that pooling without
the attention mask would fail. That exercises loading, tokenising, padding, pooling, normalising and
clustering — not the quality of a real model (docs/consolidation.md says what to expect of one).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

from core.config import Settings
from core.document_consolidation import consolidate
from core.near_duplicates import OpinionText
from core.themes import group_themes
from storage import embeddings
from storage.embeddings import OnnxSentenceEmbedder
from tests.test_themes import pairwise, paraphrases

ROWS = json.loads((Path(__file__).parent / "data" / "themes_vi.json").read_text(encoding="utf-8"))
WORD = re.compile(r"\w+")
# Two wordings of the traffic idea that share no word with each other: the key-word path cannot put
# them together, a model that knows both belong to traffic can.
KET_XE = "Kẹt xe hằng ngày"
UN_TAC = "Ùn tắc giao thông nghiêm trọng"

# one pytest-xdist worker runs the whole module: the model is built once
pytestmark = pytest.mark.xdist_group("tiny-e5")


def build_model(folder: Path, *, pooled: bool = False) -> Path:
    """A tokenizer.json and a model.onnx in ``folder``: each word's vector is how often each idea
    uses it (plus a little noise); [PAD] has a large vector of its own."""
    ideas = sorted({row["idea"] for row in ROWS})
    uses: dict[str, Counter[str]] = {}
    texts = [(row["idea"], row["text"]) for row in ROWS] + [("traffic", KET_XE), ("traffic", UN_TAC)]
    for idea, text in texts:
        for word in WORD.findall(text.lower()):
            uses.setdefault(word, Counter())[idea] += 1
    vocab = {"[PAD]": 0, "[UNK]": 1} | {word: i + 2 for i, word in enumerate(sorted(uses))}
    dim = len(ideas) + 1
    rng = np.random.default_rng(12)
    table = rng.normal(0, 0.02, size=(len(vocab), dim)).astype(np.float32)
    table[0] = 0
    table[0, -1] = 50.0  # padding: far from every idea
    for word, counts in uses.items():
        for idea, n in counts.items():
            table[vocab[word], ideas.index(idea)] += n / sum(counts.values())
    tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.save(str(folder / "tokenizer.json"))

    ids = helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "tokens"])
    mask = helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "tokens"])
    nodes = [helper.make_node("Gather", ["table", "input_ids"], ["states"], axis=0)]
    if pooled:  # a model that pools itself (a plain mean, masks ignored): one vector per text
        nodes.append(helper.make_node("ReduceMean", ["states"], ["sentence"], axes=[1], keepdims=0))
        output = helper.make_tensor_value_info("sentence", TensorProto.FLOAT, ["batch", dim])
    else:
        output = helper.make_tensor_value_info("states", TensorProto.FLOAT, ["batch", "tokens", dim])
    nodes.append(helper.make_node("Identity", ["attention_mask"], ["mask_echo"]))
    echo = helper.make_tensor_value_info("mask_echo", TensorProto.INT64, ["batch", "tokens"])
    graph = helper.make_graph(
        nodes, "tiny-encoder", [ids, mask], [output, echo], [numpy_helper.from_array(table, "table")]
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(folder / "model.onnx"))
    return folder


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_model(tmp_path_factory.mktemp("tiny-e5"))


def test_the_loader_embeds_with_the_attention_mask_and_normalises(model_dir: Path) -> None:
    embedder = OnnxSentenceEmbedder(model_dir, distance_threshold=0.3, batch_size=3)
    texts = [row["text"] for row in ROWS[:7]] + ["từ lạ hoàn toàn"]
    vectors = embedder.embed(texts)
    assert vectors.shape == (8, 9) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # a short text padded in a batch of long ones says the same as on its own
    alone = embedder.embed([ROWS[0]["text"][:20]])[0]
    in_batch = embedder.embed([ROWS[0]["text"][:20], ROWS[1]["text"] * 3])[0]
    assert np.allclose(alone, in_batch, atol=1e-5)
    assert float(vectors[:, -1].max()) < 0.5  # the padding's dimension stays out
    assert embedder.embed([]).shape[0] == 0


def test_the_model_path_clusters_the_paraphrases_and_joins_what_shares_no_word(model_dir: Path) -> None:
    embedder = OnnxSentenceEmbedder(model_dir, distance_threshold=0.3)
    items, idea = paraphrases()
    themes = group_themes(items, embedder=embedder)
    precision, recall = pairwise([t.keys for t in themes], idea)
    assert (precision, recall) == (1.0, 1.0)
    assert all(t.label for t in themes)  # labels stay the key phrases
    pair = [OpinionText("a", KET_XE), OpinionText("b", UN_TAC), *items[:5]]
    assert not any({"a", "b"} <= set(t.keys) for t in group_themes(pair))
    joined = [t.keys for t in group_themes(pair, embedder=embedder) if "a" in t.keys]
    assert "b" in joined[0]


def test_a_model_that_pools_itself_is_used_as_is(tmp_path: Path) -> None:
    embedder = OnnxSentenceEmbedder(build_model(tmp_path, pooled=True), distance_threshold=0.3)
    vectors = embedder.embed([ROWS[0]["text"], ROWS[5]["text"]])
    assert vectors.shape == (2, 9) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_the_setting_names_a_model_directory_and_the_consolidation_uses_it(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert Settings(home=Path("/nonexistent")).themes_model_path == ""
    with pytest.raises(ValueError, match="lacks model.onnx, tokenizer.json"):
        Settings(home=Path("/nonexistent"), themes_model_path=str(tmp_path))
    settings = Settings(
        home=Path("/nonexistent"), themes_model_path=str(model_dir), themes_model_threshold=0.3
    )
    monkeypatch.setattr(embeddings, "get_settings", lambda: settings)
    embedder = embeddings.configured_embedder()
    assert isinstance(embedder, OnnxSentenceEmbedder) and embedder.distance_threshold == 0.3
    assert embeddings.configured_embedder() is embedder  # loaded once

    from storage.themes import SqlThemeRepository

    assert SqlThemeRepository(session=None).embedder() is embedder  # type: ignore[arg-type]
    rows = [
        {"receipt_code": code, "section_id": None, "text": text, "stance": "other"}
        for code, text in (("GY-1", KET_XE), ("GY-2", UN_TAC))
    ]
    document = {"id": 1, "code": "d", "title": "Dự thảo"}
    lexical = consolidate(document=document, sections=[], opinions=rows)
    model = consolidate(document=document, sections=[], opinions=rows, embedder=embedder)
    assert [t.count for t in lexical.sections[0].themes] == [1, 1]
    assert [t.count for t in model.sections[0].themes] == [2]

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model.onnx").write_bytes(b"not a model")
    (broken / "tokenizer.json").write_text("{}")
    monkeypatch.setattr(
        embeddings, "get_settings", lambda: Settings(home=Path("/nonexistent"), themes_model_path=str(broken))
    )
    assert embeddings.configured_embedder() is None  # logged; themes from key words only
    monkeypatch.setattr(embeddings, "get_settings", lambda: Settings(home=Path("/nonexistent")))
    assert embeddings.configured_embedder() is None
