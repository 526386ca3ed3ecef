"""The tiktoken and Hugging Face tokenizers side of //benchmarks/peers: GPT-2 encode speed and ids, offline.

stdin: {"docs": FILE (JSON list of strings), "ranks": FILE (tiktoken ranks: "<base64 token> <rank>" lines),
        "pattern": REGEX, "specials": {text: id}, "tokenizer_json": FILE, "threads": T, "runs": R}
stdout: one JSON object: best seconds of R runs encoding every document with each library (T = 1: one document
at a time; T > 1: the libraries' own batch calls on T threads), and the sha256 of each library's ids (every
document's ids as uint32 LE, each document preceded by its id count as uint32 LE).

tiktoken's get_encoding("gpt2") downloads its files; here the Encoding is built from the same GPT-2 ranks our kernels
load (npm tiktoken's encoders/gpt2.json, expanded to a ranks file by kernels/throughput.ts), with GPT-2's regex and
<|endoftext|>: tiktoken.Encoding(name, pat_str=, mergeable_ranks=, special_tokens=), nothing downloaded. HF tokenizers
loads the tokenizer.json our kernels export from the same ranks (Tokenizer.save("hf_json")).
"""

import base64
import hashlib
import json
import os
import struct
import sys
import time


def digest(all_ids):
    h = hashlib.sha256()
    for ids in all_ids:
        h.update(struct.pack("<I", len(ids)))
        h.update(struct.pack(f"<{len(ids)}I", *ids))
    return h.hexdigest()


def best(runs, f):
    seconds, out = float("inf"), None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = f()
        seconds = min(seconds, time.perf_counter() - t0)
    return seconds, out


def main():
    req = json.load(sys.stdin)
    threads, runs = req["threads"], req["runs"]
    # tokenizers sizes its thread pool from RAYON_NUM_THREADS at first use (set by the caller before this starts)
    assert os.environ.get("RAYON_NUM_THREADS") == str(threads), "run with RAYON_NUM_THREADS = threads"
    import tiktoken
    import tokenizers

    with open(req["docs"], encoding="utf-8") as f:
        docs = json.load(f)
    ranks = {}
    with open(req["ranks"], "rb") as f:
        for line in f:
            if line.strip():
                token, rank = line.split()
                ranks[base64.b64decode(token)] = int(rank)
    enc = tiktoken.Encoding("gpt2", pat_str=req["pattern"], mergeable_ranks=ranks, special_tokens=req["specials"])
    with open(req["tokenizer_json"], encoding="utf-8") as f:
        hf = tokenizers.Tokenizer.from_str(f.read())

    if threads == 1:
        tt_s, tt_ids = best(runs, lambda: [enc.encode_ordinary(d) for d in docs])
        hf_s, hf_ids = best(runs, lambda: [hf.encode(d, add_special_tokens=False).ids for d in docs])
    else:
        tt_s, tt_ids = best(runs, lambda: enc.encode_ordinary_batch(docs, num_threads=threads))
        hf_s, hf_out = best(runs, lambda: hf.encode_batch(docs, add_special_tokens=False))
        hf_ids = [e.ids for e in hf_out]
    print(json.dumps({
        "tiktoken": tiktoken.__version__,
        "tokenizers": tokenizers.__version__,
        "threads": threads,
        "tiktoken_seconds": tt_s,
        "hf_seconds": hf_s,
        "tiktoken_ids_sha256": digest(tt_ids),
        "hf_ids_sha256": digest(hf_ids),
        "tokens": sum(len(x) for x in tt_ids),
    }))


main()
