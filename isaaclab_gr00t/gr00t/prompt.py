"""The language input of GR00T N1.5: the instruction and image placeholders through the processor's chat template.

Each camera view is written as ``<image N><img>`` + one ``<IMG_CONTEXT>`` token per vision token + ``</img>``,
followed by the instruction, as one user turn; the template adds the system prompt and the assistant prefix
(``add_generation_prompt=True``). The backbone later writes the vision features over the ``<IMG_CONTEXT>``
positions. Several instructions are left-padded to one length with the tokenizer's pad token.
"""

from __future__ import annotations

import torch

IMAGE_CONTEXT_TOKEN = "<IMG_CONTEXT>"
IMAGE_START_TOKEN = "<img>"
IMAGE_END_TOKEN = "</img>"


def user_message(instruction: str, num_views: int, tokens_per_view: int) -> str:
    """The user turn's text: every view's image placeholder, then the instruction."""
    image = IMAGE_START_TOKEN + IMAGE_CONTEXT_TOKEN * tokens_per_view + IMAGE_END_TOKEN
    return "".join(f"<image {index + 1}>{image}" for index in range(num_views)) + instruction


def prompt_tokens(
    tokenizer, instructions: list[str], num_views: int, tokens_per_view: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids and attention mask of the chat-templated prompts, left-padded to the longest.

    Args:
        tokenizer: The checkpoint's tokenizer, with its chat template.
        instructions: One instruction per row of the result.
        num_views: Camera views per sample (0 for a task without cameras).
        tokens_per_view: Vision tokens one view contributes (256 for N1.5 at 224 px).

    Returns:
        ``input_ids`` and ``attention_mask``, both ``(len(instructions), T)`` long tensors.

    Raises:
        ValueError: If the tokenizer has no chat template, or does not turn each placeholder into one
            ``<IMG_CONTEXT>`` token (a tokenizer without N1.5's special tokens).
    """
    if not getattr(tokenizer, "chat_template", None):
        raise ValueError(f"The GR00T tokenizer ({tokenizer.name_or_path}) has no chat template.")
    image_token_id = tokenizer.convert_tokens_to_ids(IMAGE_CONTEXT_TOKEN)
    rows = []
    for instruction in instructions:
        messages = [{"role": "user", "content": user_message(instruction, num_views, tokens_per_view)}]
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        if ids.count(image_token_id) != num_views * tokens_per_view:
            raise ValueError(
                f"The GR00T tokenizer ({tokenizer.name_or_path}) gave {ids.count(image_token_id)} {IMAGE_CONTEXT_TOKEN}"
                f" tokens for {num_views} views of {tokens_per_view}: it lacks N1.5's image special tokens."
            )
        rows.append(ids)
    length = max(len(ids) for ids in rows)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    input_ids = torch.full((len(rows), length), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(rows), length), dtype=torch.long)
    for row, ids in enumerate(rows):
        input_ids[row, length - len(ids) :] = torch.tensor(ids)
        attention_mask[row, length - len(ids) :] = 1
    return input_ids, attention_mask
