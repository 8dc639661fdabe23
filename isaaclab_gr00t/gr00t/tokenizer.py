"""Instruction tokenization, done once per model and cached as a tensor.

With a pretrained checkpoint directory that ships tokenizer files, its own tokenizer is loaded from disk
(``local_files_only``: nothing is downloaded). Otherwise a byte-level vocabulary built in code is used: byte ``b``
is token ``b + NUM_SPECIAL``, so any UTF-8 string tokenizes without a vocabulary file.
"""

from __future__ import annotations

import os
import warnings

import torch

BOS_ID = 1
"""Begin-of-sequence token of the byte vocabulary (0 is padding, 2 is end-of-sequence)."""

NUM_SPECIAL = 3
"""Number of special tokens before the 256 byte tokens."""

BYTE_VOCAB_SIZE = NUM_SPECIAL + 256
"""Size of the byte-level vocabulary."""

_TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json")


def byte_tokenize(text: str) -> list[int]:
    """Tokenize ``text`` into byte tokens, prefixed with the begin-of-sequence token."""
    return [BOS_ID] + [NUM_SPECIAL + b for b in text.encode("utf-8")]


def tokenize_instruction(text: str, vocab_size: int, tokenizer_dir: str | None = None) -> torch.Tensor:
    """Return the instruction as a ``(1, L)`` long tensor of token ids.

    Args:
        text: The language instruction.
        vocab_size: Vocabulary size of the language model; every id must be below it.
        tokenizer_dir: Directory holding a Hugging Face tokenizer (from a pretrained checkpoint), or None.

    Raises:
        ValueError: If the instruction is empty or a token id does not fit the language model's vocabulary.
    """
    if not text:
        raise ValueError("GR00T cfg field 'instruction' must be a non-empty string.")
    if tokenizer_dir is not None and any(os.path.isfile(os.path.join(tokenizer_dir, f)) for f in _TOKENIZER_FILES):
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir, local_files_only=True)
        ids = tokenizer(text)["input_ids"]
    else:
        if tokenizer_dir is not None:
            warnings.warn(
                f"No tokenizer files in '{tokenizer_dir}': using the byte-level vocabulary, which a pretrained"
                " language model does not understand.",
                RuntimeWarning,
                stacklevel=2,
            )
        ids = byte_tokenize(text)
    if max(ids) >= vocab_size:
        raise ValueError(
            f"Instruction token id {max(ids)} does not fit the language model vocabulary of {vocab_size} tokens."
        )
    return torch.tensor([ids], dtype=torch.long)
