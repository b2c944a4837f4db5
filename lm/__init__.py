"""A word-level LSTM language model and a sampler for seeing how temperature changes text."""

from .data import Corpus, batchify, get_batch, load_corpus
from .hub import load_pretrained, save_pretrained
from .model import LMConfig, LSTMLanguageModel
from .perplexity import evaluate
from .sampling import (Distribution, Generation, StreamToken, generate, next_token_distribution, random_seed, stream,
                       sweep)
from .text import Vocab, detokenize, tokenize

__all__ = [
    "tokenize", "detokenize", "Vocab",
    "Corpus", "load_corpus", "batchify", "get_batch",
    "LMConfig", "LSTMLanguageModel", "save_pretrained", "load_pretrained",
    "Generation", "StreamToken", "Distribution", "generate", "stream", "sweep", "next_token_distribution",
    "random_seed",
    "evaluate",
]
