"""The transformers side of //benchmarks/inference:load: single-stream generation speed of an exported checkpoint.

stdin: {"export": DIR, "prompts": [[ids], ...], "max_new_tokens": N, "threads": T, "repeats": R}
stdout: one JSON object: tokens/s of GPT2LMHeadModel.generate (CPU, float32, greedy, use_cache=True, exactly N new
tokens per prompt), one generation at a time over every prompt R times, after one warm-up generation; also per CPU
second of this process (time.process_time).
"""

import json
import sys
import time

import torch
import transformers
from transformers import GPT2LMHeadModel


def main():
    req = json.load(sys.stdin)
    transformers.utils.logging.disable_progress_bar()
    torch.set_num_threads(req["threads"])
    model = GPT2LMHeadModel.from_pretrained(req["export"], dtype=torch.float32).eval()
    n = req["max_new_tokens"]

    def generate(ids):
        x = torch.tensor([ids], dtype=torch.long)
        with torch.no_grad():
            out = model.generate(x, attention_mask=torch.ones_like(x), do_sample=False, use_cache=True,
                                 max_new_tokens=n, min_new_tokens=n)
        return out.shape[1] - x.shape[1]

    generate(req["prompts"][0])  # warm-up
    runs = []
    for _ in range(req["repeats"]):
        for ids in req["prompts"]:
            t0, c0 = time.perf_counter(), time.process_time()
            tokens = generate(ids)
            runs.append((tokens, time.perf_counter() - t0, time.process_time() - c0))
    tokens = sum(t for t, _, _ in runs)
    seconds = sum(s for _, s, _ in runs)
    cpu_seconds = sum(c for _, _, c in runs)
    per_run = sorted(t / s for t, s, _ in runs)
    print(json.dumps({
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "threads": torch.get_num_threads(),
        "generations": len(runs),
        "new_tokens": tokens,
        "seconds": seconds,
        "tokens_per_s": tokens / seconds,
        "tokens_per_s_p50": per_run[len(per_run) // 2],
        "tokens_per_cpu_s": tokens / cpu_seconds,
    }))


main()
