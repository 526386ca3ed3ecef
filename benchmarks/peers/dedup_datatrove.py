"""The datatrove side of //benchmarks/peers: MinHash near dedup speed on one core, and the clusters it finds.

stdin: {"docs": FILE (JSON list of strings), "bands": B, "rows": R, "shingle_words": K, "workdir": DIR}
stdout: one JSON object: seconds of datatrove's four MinHash steps run one after another in this process (one core):
signatures (MinhashDedupSignature), bucket matches (MinhashDedupBuckets, one task per bucket), clusters
(MinhashDedupCluster) and the filter (MinhashDedupFilter, consuming its output); and the clusters (every cluster
of more than one document, as sorted document indices) and the removed document indices.

datatrove's configuration: MinhashConfig(n_grams=K, num_buckets=B, hashes_per_bucket=R), its default 64-bit xxhash
shingle hashes and text normalisation (lowercase, numbers, punctuation, whitespace). Its default English word
tokenizer is spaCy's; this passes a whitespace tokenizer instead (str.split, the word rule of our kernel), which is
cheaper than spaCy, so datatrove's figure here is its fast case.
"""

import importlib.metadata
import json
import os
import struct
import sys
import time

os.environ.setdefault("TQDM_DISABLE", "1")

from loguru import logger  # noqa: E402

from datatrove.data import Document  # noqa: E402
from datatrove.pipeline.dedup.minhash import (  # noqa: E402
    MinhashConfig,
    MinhashDedupBuckets,
    MinhashDedupCluster,
    MinhashDedupFilter,
    MinhashDedupSignature,
)
from datatrove.utils.word_tokenizers import WordTokenizer  # noqa: E402


class WhitespaceWords(WordTokenizer):
    """Words are maximal runs of non-whitespace, as in kernels/gate."""

    def word_tokenize(self, text):
        return text.split()

    def sent_tokenize(self, text):
        return [text]

    def span_tokenize(self, text):
        return [(0, len(text))]


def main():
    req = json.load(sys.stdin)
    logger.remove()  # datatrove logs every step through loguru
    with open(req["docs"], encoding="utf-8") as f:
        texts = json.load(f)
    work = req["workdir"]
    sigs, buckets, clusters = (os.path.join(work, d) for d in ("signatures", "buckets", "clusters"))
    cfg = MinhashConfig(n_grams=req["shingle_words"], num_buckets=req["bands"], hashes_per_bucket=req["rows"])
    docs = lambda: (Document(text=t, id=str(i)) for i, t in enumerate(texts))  # noqa: E731

    t0 = time.perf_counter()
    MinhashDedupSignature(output_folder=sigs, config=cfg, language=WhitespaceWords()).run(docs(), rank=0, world_size=1)
    t1 = time.perf_counter()
    for bucket in range(cfg.num_buckets):
        MinhashDedupBuckets(input_folder=sigs, output_folder=buckets, config=cfg).run(
            None, rank=bucket, world_size=cfg.num_buckets
        )
    t2 = time.perf_counter()
    MinhashDedupCluster(input_folder=buckets, output_folder=clusters, config=cfg, save_cluster_id=True).run(None, 0, 1)
    t3 = time.perf_counter()
    kept = {int(d.id) for d in MinhashDedupFilter(input_folder=clusters).run(docs(), rank=0, world_size=1)}
    t4 = time.perf_counter()

    groups = {}
    path = os.path.join(clusters, "000000.clusters")
    if os.path.exists(path):
        with open(path, "rb") as f:
            data = f.read()
        for doc, cluster in struct.iter_unpack("<2I", data):
            groups.setdefault(cluster, []).append(doc)
    print(json.dumps({
        "datatrove": importlib.metadata.version("datatrove"),
        "seconds": t4 - t0,
        "stage_seconds": {"signatures": t1 - t0, "buckets": t2 - t1, "clusters": t3 - t2, "filter": t4 - t3},
        "clusters": sorted(sorted(g) for g in groups.values() if len(g) > 1),
        "removed": sorted(set(range(len(texts))) - kept),
    }))


main()
