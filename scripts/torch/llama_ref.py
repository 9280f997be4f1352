"""Plain-torch LLaMA decoder with Hugging Face LlamaForCausalLM semantics (parameter names, RMSNorm,
rotate_half RoPE, GQA via repeat_kv, SwiGLU MLP, optional tied lm_head). The reference the TS engine is
checked against; runs on Debian's python3-torch (1.13, CPU)."""
import math
import torch
import torch.nn.functional as F
from torch import nn


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        var = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(var + self.eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.nh, self.nkv = c["nHeads"], c["nKvHeads"]
        self.hd = c["dim"] // c["nHeads"]
        self.q_proj = nn.Linear(c["dim"], self.nh * self.hd, bias=False)
        self.k_proj = nn.Linear(c["dim"], self.nkv * self.hd, bias=False)
        self.v_proj = nn.Linear(c["dim"], self.nkv * self.hd, bias=False)
        self.o_proj = nn.Linear(self.nh * self.hd, c["dim"], bias=False)

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.nh, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.nkv, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.nkv, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = self.nh // self.nkv
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        s = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd) + mask
        p = torch.softmax(s.float(), dim=-1)
        o = (p @ v).transpose(1, 2).reshape(B, T, self.nh * self.hd)
        return self.o_proj(o)


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.gate_proj = nn.Linear(c["dim"], c["ffnDim"], bias=False)
        self.up_proj = nn.Linear(c["dim"], c["ffnDim"], bias=False)
        self.down_proj = nn.Linear(c["ffnDim"], c["dim"], bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.input_layernorm = RMSNorm(c["dim"], c["normEps"])
        self.self_attn = Attention(c)
        self.post_attention_layernorm = RMSNorm(c["dim"], c["normEps"])
        self.mlp = MLP(c)

    def forward(self, x, cos, sin, mask):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        return x + self.mlp(self.post_attention_layernorm(x))


class Inner(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed_tokens = nn.Embedding(c["vocabSize"], c["dim"])
        self.layers = nn.ModuleList([Layer(c) for _ in range(c["nLayers"])])
        self.norm = RMSNorm(c["dim"], c["normEps"])


class Llama(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.model = Inner(c)
        if not c["tieEmbeddings"]:
            self.lm_head = nn.Linear(c["dim"], c["vocabSize"], bias=False)
        hd = c["dim"] // c["nHeads"]
        inv_freq = 1.0 / (c["ropeTheta"] ** (torch.arange(0, hd, 2).float() / hd))
        t = torch.arange(c["maxSeqLen"]).float()
        emb = torch.cat((torch.outer(t, inv_freq),) * 2, dim=-1)
        self.register_buffer("cos", emb.cos(), persistent=False)
        self.register_buffer("sin", emb.sin(), persistent=False)

    def named_params_hf(self):
        """Parameters in HF order/names (tied models have no lm_head.weight)."""
        return [(n, p) for n, p in self.named_parameters()]

    def forward(self, ids, labels):
        B, T = ids.shape
        x = self.model.embed_tokens(ids)
        cos, sin = self.cos[:T], self.sin[:T]
        mask = torch.full((T, T), float("-inf")).triu(1)
        for layer in self.model.layers:
            x = layer(x, cos, sin, mask)
        x = self.model.norm(x)
        w = self.model.embed_tokens.weight if self.c["tieEmbeddings"] else self.lm_head.weight
        logits = x @ w.t()
        return F.cross_entropy(logits.view(-1, logits.shape[-1]).float(), labels.reshape(-1), ignore_index=-100)


def make_optimizer(model, lr, wd=0.1):
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}],
        lr=lr, betas=(0.9, 0.95), eps=1e-8,
    )


def split_batch(tokens, batch, seq):
    rows = torch.tensor(tokens, dtype=torch.long).view(batch, seq + 1)
    return rows[:, :-1].contiguous(), rows[:, 1:].contiguous()
