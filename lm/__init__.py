"""A word-level LSTM language model and a sampler for seeing how temperature changes text."""

from .data import Corpus, batchify, get_batch, load_corpus
from .generation import Distribution, Generation, StreamToken, generate, next_token_distribution, stream, sweep
from .hub import load_pretrained, model_info, save_pretrained
from .model import LMConfig, LSTMLanguageModel
from .ngrams import NgramIndex, load_ngram_index
from .perplexity import evaluate
from .sampling import NOTEBOOK_TEMPERATURES, random_seed
from .text import detokenize, tokenize, tokenize_cased
from .vocab import Vocab

__all__ = [
    "tokenize", "tokenize_cased", "detokenize", "Vocab",
    "Corpus", "load_corpus", "batchify", "get_batch",
    "LMConfig", "LSTMLanguageModel", "save_pretrained", "load_pretrained", "model_info",
    "Generation", "StreamToken", "Distribution", "generate", "stream", "sweep", "next_token_distribution",
    "NOTEBOOK_TEMPERATURES", "random_seed", "evaluate", "NgramIndex", "load_ngram_index",
]
