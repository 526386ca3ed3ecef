"""Interop check of an exported Hugging Face directory with the Python `tokenizers` and `safetensors` packages.

stdin: {"export": DIR, "checkpoint": CHECKPOINT_DIR, "texts": [[text, [our ids]], ...]}
stdout: one JSON object: per text whether the ids agree, and per exported tensor whether it equals ours
(renamed, and transposed for GPT-2's Conv1D matrices) bit for bit.
"""

import json
import os
import re
import sys

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

PARTS = {"ln_1": "ln1", "ln_2": "ln2", "attn.c_attn": "attn.qkv", "attn.c_proj": "attn.proj", "mlp.c_fc": "mlp.fc", "mlp.c_proj": "mlp.proj"}
FIXED = {"transformer.wte.weight": "wte.weight", "transformer.wpe.weight": "wpe.weight", "transformer.ln_f.weight": "lnf.weight", "transformer.ln_f.bias": "lnf.bias"}


def ours_name(hf):
    """GPT-2 name -> (our name, transposed)."""
    if hf in FIXED:
        return FIXED[hf], False
    m = re.fullmatch(r"transformer\.h\.(\d+)\.(ln_1|ln_2|attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.(weight|bias)", hf)
    if not m:
        raise SystemExit(f"unexpected tensor {hf!r} in the export")
    return f"h.{m[1]}.{PARTS[m[2]]}.{m[3]}", m[3] == "weight" and not m[2].startswith("ln")


def main():
    req = json.load(sys.stdin)
    tok = Tokenizer.from_file(os.path.join(req["export"], "tokenizer.json"))
    texts = [{"text": t, "ours": ids, "theirs": tok.encode(t, add_special_tokens=False).ids} for t, ids in req["texts"]]
    exported = load_file(os.path.join(req["export"], "model.safetensors"))
    ours = load_file(os.path.join(req["checkpoint"], "model.safetensors"))
    config = json.load(open(os.path.join(req["export"], "config.json")))
    tensors = []
    for name, value in sorted(exported.items()):
        mine, transposed = ours_name(name)
        expected = ours[mine].T if transposed else ours[mine]
        tensors.append({"name": name, "shape": list(value.shape), "dtype": str(value.dtype),
                        "equal": bool(value.shape == expected.shape and np.array_equal(value, expected))})
    print(json.dumps({"texts": texts, "tensors": tensors, "n_layer": config["n_layer"],
                      "optimizer_state": [k for k in exported if "adam" in k.lower()]}))


main()
