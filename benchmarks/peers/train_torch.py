"""The PyTorch side of //benchmarks/peers: training steps/s of the GPT of //kernels/model:bench on the CPU.

stdin: {"vocab_size", "seq_len", "n_layer", "n_head", "d_model", "batch_rows", "docs_per_row", "threads": [1, 2],
        "warmup_steps": W, "steps": N}
stdout: one JSON object: per thread count, tokens/s over N timed steps after W warm-up steps (a step: forward,
cross-entropy, backward, global-norm clipping at 1.0, AdamW), and the versions.

The model is the one kernels/model trains (GPT-2's architecture): learned token and position embeddings, pre-LN
blocks (LayerNorm eps 1e-5 with bias, fused QKV projection with bias, causal attention, output projection, MLP of
4·d with tanh GELU), a final LayerNorm and the output head tied to the token embedding. Like the bench's batch,
every row packs `docs_per_row` documents: positions restart at each document and attention is masked to the
document (scaled_dot_product_attention with a boolean block-diagonal causal mask). AdamW as kernels/model's
defaults: betas (0.9, 0.95), eps 1e-8, weight decay 0.1 on matrices only, fused=True (PyTorch's fastest CPU AdamW).
"""

import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, c, heads):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(c, eps=1e-5)
        self.qkv = nn.Linear(c, 3 * c)
        self.proj = nn.Linear(c, c)
        self.ln2 = nn.LayerNorm(c, eps=1e-5)
        self.fc = nn.Linear(c, 4 * c)
        self.fc_proj = nn.Linear(4 * c, c)

    def forward(self, x, mask):
        b, t, c = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(c, dim=2)  # [B,T,C] each
        q, k, v = (z.view(b, t, self.heads, c // self.heads).transpose(1, 2) for z in (q, k, v))  # [B,H,T,D]
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # [B,H,T,D]
        x = x + self.proj(y.transpose(1, 2).reshape(b, t, c))
        return x + self.fc_proj(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))


class Gpt(nn.Module):
    def __init__(self, vocab, seq_len, layers, heads, c):
        super().__init__()
        self.wte = nn.Embedding(vocab, c)
        self.wpe = nn.Embedding(seq_len, c)
        self.h = nn.ModuleList(Block(c, heads) for _ in range(layers))
        self.lnf = nn.LayerNorm(c, eps=1e-5)
        for name, p in self.named_parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * layers) if name.endswith("proj.weight") else 0.02)
            elif name.endswith("bias"):
                nn.init.zeros_(p)

    def forward(self, tokens, positions, mask, targets):
        x = self.wte(tokens) + self.wpe(positions)  # [B,T,C]
        for block in self.h:
            x = block(x, mask)
        logits = F.linear(self.lnf(x), self.wte.weight)  # tied head, [B,T,V]
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)


def batch(req, gen):
    b, t, v, docs = req["batch_rows"], req["seq_len"], req["vocab_size"], req["docs_per_row"]
    tokens = torch.randint(0, v, (b, t), generator=gen)
    targets = torch.cat([tokens[:, 1:], torch.full((b, 1), -1)], dim=1)  # the bench's: no loss at row ends only
    doc = torch.arange(t) // (t // docs)  # [T]: the bench's 4 documents per row
    positions = (torch.arange(t) - doc * (t // docs)).expand(b, t)  # restart at each document
    same_doc = doc[:, None] == doc[None, :]
    causal = torch.ones(t, t, dtype=torch.bool).tril()
    mask = (same_doc & causal)[None, None]  # [1,1,T,T], True = attend
    return tokens, positions.contiguous(), mask, targets


def measure(req, threads):
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    model = Gpt(req["vocab_size"], req["seq_len"], req["n_layer"], req["n_head"], req["d_model"])
    decay = [p for p in model.parameters() if p.dim() == 2 and p is not model.wpe.weight and p is not model.wte.weight]
    no_decay = [p for p in model.parameters() if all(p is not d for d in decay)]
    groups = [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=1e-3, betas=(0.9, 0.95), eps=1e-8, fused=True)
    data = batch(req, torch.Generator().manual_seed(9))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = model(*data)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item()

    for _ in range(req["warmup_steps"]):
        step()
    t0 = time.perf_counter()
    for _ in range(req["steps"]):
        step()
    seconds = (time.perf_counter() - t0) / req["steps"]
    tokens = req["batch_rows"] * req["seq_len"]
    return {
        "threads": torch.get_num_threads(),
        "step_seconds": seconds,
        "tokens_per_s": tokens / seconds,
        "params": sum(p.numel() for p in model.parameters()),
    }


def main():
    req = json.load(sys.stdin)
    runs = [measure(req, n) for n in req["threads"]]
    print(json.dumps({
        "torch": torch.__version__,
        "mkldnn": torch.backends.mkldnn.is_available(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "runs": runs,
    }))


main()
