"""Writes test/fixtures/torch-llama-step.json: micro LLaMA configs, initial weights, a batch, and the loss,
grad norm, gradients and parameters after AdamW steps (clip 1.0 or as given), computed by llama_ref.py.
Run: /usr/bin/python3 scripts/torch/make_parity_fixture.py"""
import base64
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from llama_ref import Llama, make_optimizer, split_batch  # noqa: E402


def b64(t):
    return base64.b64encode(t.detach().contiguous().float().numpy().tobytes()).decode()


def case(name, cfg, batch, seq, steps, lr, max_norm, seed, mask_every):
    torch.manual_seed(seed)
    model = Llama(cfg)
    for n, p in model.named_parameters():
        with torch.no_grad():
            if p.dim() >= 2:
                p.normal_(0, 0.02 if "embed" not in n else 0.5)
            else:
                p.uniform_(0.8, 1.2)
    g = torch.Generator().manual_seed(seed + 1)
    tokens = torch.randint(0, cfg["vocabSize"], (batch * (seq + 1),), generator=g).tolist()
    ids, labels = split_batch(tokens, batch, seq)
    target_mask = [0 if mask_every and (i % mask_every == 1) else 1 for i in range(batch * seq)]
    labels = labels.clone().view(-1)
    for i, m in enumerate(target_mask):
        if m == 0:
            labels[i] = -100
    labels = labels.view(batch, seq)
    init = {n: b64(p) for n, p in model.named_parameters()}
    opt = make_optimizer(model, lr)
    results = []
    for _ in range(steps):
        opt.zero_grad()
        loss = model(ids, labels)
        loss.backward()
        grads = {n: b64(p.grad) for n, p in model.named_parameters()}
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        opt.step()
        results.append({"loss": loss.item(), "gradNorm": norm.item(), "grads": grads})
    return {
        "name": name, "config": cfg, "batchSize": batch, "seqLen": seq, "tokens": tokens,
        "targetMask": target_mask, "lr": lr, "maxGradNorm": max_norm, "steps": results,
        "params": init, "paramsAfter": {n: b64(p) for n, p in model.named_parameters()},
    }


def main():
    torch.set_num_threads(1)
    base = {"ropeTheta": 10000.0, "normEps": 1e-5}
    untied = {**base, "name": "micro-untied", "vocabSize": 48, "dim": 16, "nLayers": 2, "nHeads": 4, "nKvHeads": 2,
              "ffnDim": 24, "maxSeqLen": 12, "tieEmbeddings": False}
    tied = {**base, "name": "micro-tied", "vocabSize": 40, "dim": 24, "nLayers": 2, "nHeads": 4, "nKvHeads": 2,
            "ffnDim": 36, "maxSeqLen": 10, "tieEmbeddings": True, "ropeTheta": 500000.0}
    out = {
        "generator": "scripts/torch/make_parity_fixture.py",
        "torch": torch.__version__,
        "cases": [
            case("untied-masked-1step", untied, 3, 11, 1, 1e-2, 1.0, 1234, 5),
            case("tied-clipped-2steps", tied, 2, 9, 2, 3e-3, 0.05, 99, 0),
        ],
    }
    root = os.path.join(os.path.dirname(__file__), "..", "..")
    path = os.path.join(root, "test", "fixtures", "torch-llama-step.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(out, f)
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
