"""The optional sentence-embedding model of the themes: a local ONNX model (ONNX Runtime + tokenizers).

The operator puts a model directory on disk — it is never downloaded at run time — and names it in
GOPY_THEMES_MODEL_PATH:

* ``model.onnx``: a sentence encoder exported to ONNX, with the inputs ``input_ids`` and
  ``attention_mask`` (and ``token_type_ids`` if it has one); its first output is either the token
  states ``[batch, tokens, dim]`` (then mean-pooled over the attention mask, as the multilingual-e5
  and most sentence-transformers models are) or already one vector per text ``[batch, dim]``;
* ``tokenizer.json``: its Hugging Face tokenizer.

``multilingual-e5-small`` (about 470 MB as ONNX, 120 MB quantised) is the model docs/consolidation.md
names; set GOPY_THEMES_MODEL_PREFIX to ``query: `` for it. Vectors are L2-normalised here; the
clustering is core.themes's (agglomerative, cosine, GOPY_THEMES_MODEL_THRESHOLD).

One model per process, loaded on first use and kept (:func:`configured_embedder`); runs on the CPU
with one thread per call, in batches, texts cut at ``max_tokens`` tokens.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from core.config import get_settings

__all__ = ["MODEL_FILE", "TOKENIZER_FILE", "OnnxSentenceEmbedder", "configured_embedder"]

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
PAD_TOKENS = ("<pad>", "[PAD]", "<PAD>")

log = logging.getLogger(__name__)


class OnnxSentenceEmbedder:
    """A :class:`core.themes.SentenceEmbedder` on an ONNX model directory."""

    def __init__(
        self,
        folder: Path,
        *,
        distance_threshold: float,
        prefix: str = "",
        max_tokens: int = 256,
        batch_size: int = 32,
    ) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        folder = Path(folder)
        for name in (MODEL_FILE, TOKENIZER_FILE):
            if not (folder / name).is_file():
                raise FileNotFoundError(f"{folder / name} is missing")
        self.name = folder.name
        self.distance_threshold = distance_threshold
        self.prefix = prefix
        self.batch_size = batch_size
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # the machine's other cores serve the other requests
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(
            str(folder / MODEL_FILE), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self.inputs = {i.name for i in self.session.get_inputs()}
        missing = {"input_ids", "attention_mask"} - self.inputs
        if missing:
            raise ValueError(f"{folder / MODEL_FILE} has no input {', '.join(sorted(missing))}")
        self.tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        self.tokenizer.enable_truncation(max_length=max_tokens)
        pad = next((t for t in PAD_TOKENS if self.tokenizer.token_to_id(t) is not None), None)
        pad_id = self.tokenizer.token_to_id(pad) if pad else 0
        self.tokenizer.enable_padding(pad_id=pad_id, pad_token=pad or "[PAD]")

    def embed(self, texts: Sequence[str]) -> Any:
        """One L2-normalised vector per text (a float32 array ``[len(texts), dim]``)."""
        import numpy as np

        out = []
        for start in range(0, len(texts), self.batch_size):
            batch = [self.prefix + " ".join(text.split()) for text in texts[start : start + self.batch_size]]
            encoded = self.tokenizer.encode_batch(batch)
            ids = np.asarray([e.ids for e in encoded], dtype=np.int64)
            mask = np.asarray([e.attention_mask for e in encoded], dtype=np.int64)
            feed = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self.inputs:
                feed["token_type_ids"] = np.zeros_like(ids)
            states = np.asarray(self.session.run(None, feed)[0], dtype=np.float32)
            if states.ndim == 3:  # token states: mean over the real tokens
                weights = mask[..., None].astype(np.float32)
                states = (states * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1.0, None)
            norms = np.linalg.norm(states, axis=1, keepdims=True)
            out.append(states / np.clip(norms, 1e-12, None))
        return np.vstack(out) if out else np.zeros((0, 0), dtype=np.float32)


@lru_cache(maxsize=4)
def _load(path: str, prefix: str, threshold: float) -> OnnxSentenceEmbedder | None:
    try:
        embedder = OnnxSentenceEmbedder(Path(path), distance_threshold=threshold, prefix=prefix)
    except Exception:  # a broken model must not stop the consolidation: key words only, said loudly
        log.exception(
            "themes model at GOPY_THEMES_MODEL_PATH could not be loaded; themes from key words only"
        )
        return None
    log.info("themes model loaded: %s", embedder.name)
    return embedder


def configured_embedder() -> OnnxSentenceEmbedder | None:
    """The model of GOPY_THEMES_MODEL_PATH (loaded once per process), or ``None`` when none is set."""
    settings = get_settings()
    if not settings.themes_model_path:
        return None
    return _load(settings.themes_model_path, settings.themes_model_prefix, settings.themes_model_threshold)
