"""The transformers side of //benchmarks/inference:hf_parity: an exported checkpoint loaded as GPT2LMHeadModel.

stdin: {"export": DIR, "prompt": text, "ids": [our ids], "logits": FILE (our float32 logits [t, vocab]),
        "max_new_tokens": N, "threads": T}
stdout: one JSON object: the exported tokenizer's ids of the prompt (transformers' fast tokenizer), the max |logit
difference| over all positions and where it is, how many positions agree on the argmax, and transformers' greedy
continuation (generate, do_sample=False, use_cache=True).
"""

import json
import sys

import numpy as np
import torch
import transformers
from transformers import AutoTokenizer, GPT2LMHeadModel


def main():
    req = json.load(sys.stdin)
    transformers.utils.logging.disable_progress_bar()
    torch.set_num_threads(req["threads"])
    tok = AutoTokenizer.from_pretrained(req["export"])
    theirs_ids = tok(req["prompt"], add_special_tokens=False)["input_ids"]
    model = GPT2LMHeadModel.from_pretrained(req["export"], dtype=torch.float32).eval()

    ids = torch.tensor([req["ids"]], dtype=torch.long)
    with torch.no_grad():
        logits = model(ids).logits[0].numpy()  # [t, vocab]
    ours = np.fromfile(req["logits"], dtype="<f4").reshape(logits.shape)
    diff = np.abs(logits.astype(np.float64) - ours.astype(np.float64))
    worst = np.unravel_index(int(np.argmax(diff)), diff.shape)

    with torch.no_grad():
        out = model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False,
                             max_new_tokens=req["max_new_tokens"], use_cache=True)
    print(json.dumps({
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "tokenizer_ids": theirs_ids,
        "max_abs_logit_diff": float(diff.max()),
        "worst_position": int(worst[0]),
        "worst_token": int(worst[1]),
        "logit_scale": float(np.abs(ours).max()),
        "argmax_agree": int((logits.argmax(-1) == ours.argmax(-1)).sum()),
        "positions": int(logits.shape[0]),
        "generated": out[0, ids.shape[1]:].tolist(),
    }))


main()
