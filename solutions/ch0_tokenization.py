"""Chapter 0 - tokenization and BPE: vocabulary sizes, compression, token counts."""


def bpe_vocab_size(n_merges: float, base_alphabet: float = 256, **_) -> float:
    """Byte-level BPE vocabulary: the base alphabet plus one new token per merge."""
    return base_alphabet + n_merges


def bpe_vocab_merges_only(n_merges: float, base_alphabet: float = 256, **_) -> float:
    """Known mistake: counting only the merged tokens and forgetting the 256 bytes."""
    return n_merges


def compression_ratio(n_chars: float, n_tokens: float, **_) -> float:
    """Characters per token."""
    return n_chars / n_tokens


def compression_ratio_inverted(n_chars: float, n_tokens: float, **_) -> float:
    """Known mistake: tokens per character instead of characters per token."""
    return n_tokens / n_chars


def corpus_tokens(n_chars_b: float, chars_per_token: float, **_) -> float:
    """Token count of a corpus of n_chars_b billion characters, in tokens."""
    return n_chars_b * 1e9 / chars_per_token


def corpus_tokens_multiplied(n_chars_b: float, chars_per_token: float, **_) -> float:
    """Known mistake: multiplying by the compression ratio instead of dividing."""
    return n_chars_b * 1e9 * chars_per_token


def bpe_merge_count(vocab_size: float, base_alphabet: float = 256,
                    n_special: float = 1, **_) -> float:
    """Merges learned = vocabulary - base bytes - special tokens."""
    return vocab_size - base_alphabet - n_special


def bpe_merges_forgot_special(vocab_size: float, base_alphabet: float = 256,
                              n_special: float = 1, **_) -> float:
    """Known mistake: the special token counted as a merge."""
    return vocab_size - base_alphabet


def bpe_merges_forgot_base(vocab_size: float, base_alphabet: float = 256,
                           n_special: float = 1, **_) -> float:
    """Known mistake: the 256 byte tokens counted as merges."""
    return vocab_size - n_special
