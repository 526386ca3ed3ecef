"""The Hugging Face tokenizers side of //benchmarks/peers' BPE training: byte-level BPE trained on the same corpus
with the same vocabulary size, minimum frequency and special token as ours.

stdin: {"docs": FILE (JSON list of strings), "vocab_size": V, "min_frequency": F, "specials": [text],
        "threads": T, "runs": R}
stdout: one JSON object: best seconds of R trainings (tokenizers' trainer on T threads: RAYON_NUM_THREADS, set by
the caller), the vocabulary size reached and the learned merges, each "left right" in byte-level characters (the
tokenizer.json form, which ours exports too).

The model is GPT-2's byte-level BPE: the ByteLevel pre-tokenizer with GPT-2's regex and no prefix space (what our
pre-tokenizer does), the 256 byte-level characters as the initial alphabet, no normalizer, no continuing-subword or
end-of-word affixes.
"""

import json
import os
import sys
import time


def main():
    req = json.load(sys.stdin)
    threads, runs = req["threads"], req["runs"]
    assert os.environ.get("RAYON_NUM_THREADS") == str(threads), "run with RAYON_NUM_THREADS = threads"
    import tokenizers
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    with open(req["docs"], encoding="utf-8") as f:
        docs = json.load(f)

    def train():
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=req["vocab_size"],
            min_frequency=req["min_frequency"],
            special_tokens=req["specials"],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
        tok.train_from_iterator(docs, trainer=trainer, length=len(docs))
        return tok

    seconds, tok = float("inf"), None
    for _ in range(runs):
        t0 = time.perf_counter()
        tok = train()
        seconds = min(seconds, time.perf_counter() - t0)
    merges = json.loads(tok.to_str())["model"]["merges"]
    print(json.dumps({
        "tokenizers": tokenizers.__version__,
        "threads": threads,
        "seconds": seconds,
        "vocab_size": tok.get_vocab_size(),
        "merges": [m if isinstance(m, str) else " ".join(m) for m in merges],
    }))


main()
