"""Attention without a mask where none is needed, for the bidirectional embedding model.

EmbeddingGemma attends both ways, with a sliding window on some layers. transformers builds the two
4-D masks for that with `torch.vmap` on every call: 7 of the 46 ms that embedding one question takes
on two cores. For an input without padding that is shorter than the window, both masks let every
token see every token, which is what no mask at all means to SDPA. So for such inputs no mask is
built; anything else (a padded batch of documents, a text longer than the window, a causal model)
goes to transformers' own mask unchanged. Registered through transformers' documented attention
interfaces, under its own name, so nothing of transformers is patched.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

NAME = "kulturplan_sdpa"
_registered = False


def _mask(batch_size, q_length, kv_length, *args, attention_mask=None, config=None, **kwargs):
    from transformers.masking_utils import sdpa_mask

    bidirectional = config is not None and getattr(config, "use_bidirectional_attention", False)
    window = getattr(config, "sliding_window", None) or kv_length
    if bidirectional and kv_length <= window and (attention_mask is None or bool(attention_mask.all())):
        return None
    return sdpa_mask(batch_size, q_length, kv_length, *args, attention_mask=attention_mask, config=config, **kwargs)


def use_unmasked_attention(model) -> bool:
    """Switch a loaded bidirectional transformers model to NAME; False (and unchanged) otherwise."""
    global _registered
    config = getattr(model, "config", None)
    if not getattr(config, "use_bidirectional_attention", False) or config._attn_implementation != "sdpa":
        return False
    try:
        from transformers import AttentionInterface, AttentionMaskInterface
        from transformers.integrations.sdpa_attention import sdpa_attention_forward

        if not _registered:
            AttentionMaskInterface.register(NAME, _mask)
            AttentionInterface.register(NAME, sdpa_attention_forward)
            _registered = True
        model.set_attn_implementation(NAME)
    except (ImportError, AttributeError, ValueError) as error:  # another transformers: keep its default
        logger.info("keeping transformers' attention masks: %s", error)
        return False
    return True
