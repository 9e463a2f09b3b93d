#!/usr/bin/python3
"""PyTorch CPU reference of the SDK's model and PPO step, for bench/engine-vs-pytorch.ts.

The same function as sdk/model (Llama/Qwen2 decoder: RMSNorm pre-norm, RoPE in the Hugging Face
convention, GQA, SwiGLU or an ungated GELU MLP, optional q/k/v/o biases, tied or untied head),
loaded from the safetensors the TypeScript side wrote, and the same work:
  train     one PPO update as sdk/ppo/trainer.ts update() does it with one minibatch each:
            critic (values, clipped value loss, backward, grad clip, Adam), then policy (log-probs of
            the response tokens, entropy, clipped surrogate, backward, grad clip, Adam)
  forward   logits of the whole [B, T] batch, no gradient
  sampling  prefill of the prompts, then one token per row per step with a KV cache, temperature
            sampling and the sampled token's log-prob (what sdk/rollout/engine.ts computes)
  gemm      torch.mm on square float32 matrices (OpenBLAS sgemm)

    /usr/bin/python3 bench/pytorch_reference.py --fixture DIR --out FILE.json [--warmup 1] [--reps 3]

Prints nothing but errors; writes one JSON object to --out.
"""

import argparse
import json
import math
import os
import resource
import struct
import sys
import time

# Idle OpenMP threads sleep instead of spinning, as the onnxruntime engine's pool does
# (allow_spinning 0): on a shared 2-core machine spinning threads steal the cores the work needs
# (measured here: a policy step 5-6 s with spinning, 0.7-2 s without). Read when libgomp loads.
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

import torch  # noqa: E402
import torch.nn.functional as F

MASKED = -1e9  # the SDK's additive mask value (sdk/model/attention.ts)


# ---- safetensors --------------------------------------------------------------------------------

DTYPES = {'F32': torch.float32, 'F64': torch.float64, 'I32': torch.int32, 'I64': torch.int64,
          'I16': torch.int16, 'I8': torch.int8, 'U8': torch.uint8, 'BOOL': torch.bool}


def read_safetensors(path):
    with open(path, 'rb') as f:
        raw = f.read()
    if len(raw) < 8:
        raise SystemExit(f'{path}: truncated safetensors file')
    (n,) = struct.unpack('<Q', raw[:8])
    header = json.loads(raw[8:8 + n])
    data = bytearray(raw[8 + n:])
    out = {}
    for name, h in header.items():
        if name == '__metadata__':
            continue
        if h['dtype'] not in DTYPES:
            raise SystemExit(f'{path}: {name} has dtype {h["dtype"]}, not supported here')
        begin, end = h['data_offsets']
        t = torch.frombuffer(data[begin:end], dtype=DTYPES[h['dtype']]) if end > begin else torch.empty(0, dtype=DTYPES[h['dtype']])
        out[name] = t.reshape(h['shape']).clone()
    return out


# ---- model --------------------------------------------------------------------------------------

def resolve_config(c):
    """parseModelConfig's defaults (sdk/model/config.ts)."""
    c = dict(c)
    c.setdefault('num_key_value_heads', c['num_attention_heads'])
    c.setdefault('head_dim', c['hidden_size'] // c['num_attention_heads'])
    c.setdefault('rope_theta', 10000.0)
    c.setdefault('rms_norm_eps', 1e-6)
    c.setdefault('tie_word_embeddings', False)
    c.setdefault('hidden_act', 'silu')
    c.setdefault('attention_bias', c['model_type'] == 'qwen2')
    return c


def f32(x):
    return struct.unpack('f', struct.pack('f', x))[0]


class Decoder:
    """A decoder-only transformer over a dict of leaf tensors named as in Hugging Face checkpoints."""

    def __init__(self, config, weights):
        c = self.c = resolve_config(config)
        self.w = {k: v.float().requires_grad_(True) for k, v in weights.items() if not k.endswith('rotary_emb.inv_freq')}
        if c['tie_word_embeddings']:
            self.w.pop('lm_head.weight', None)
        self.gated = c['model_type'] != 'orz' or c['hidden_act'] == 'silu'
        d, theta = c['head_dim'], c['rope_theta']
        # the SDK's float32 rounding of inv_freq and of the angles (sdk/model/rope.ts)
        inv = [f32(1 / f32(theta ** f32(2 * i / d))) for i in range(d // 2)]
        pos = torch.arange(c['max_position_embeddings'], dtype=torch.float32)
        ang = pos[:, None] * torch.tensor(inv, dtype=torch.float32)[None, :]
        ang = torch.cat([ang, ang], dim=1).double()
        self.cos, self.sin = ang.cos().float(), ang.sin().float()

    def params(self):
        return list(self.w.values())

    def head(self):
        return self.w['model.embed_tokens.weight' if self.c['tie_word_embeddings'] else 'lm_head.weight']

    def linear(self, x, name):
        y = x @ self.w[name + '.weight'].t()
        b = self.w.get(name + '.bias')
        return y + b if b is not None else y

    def rms(self, x, name):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.c['rms_norm_eps']) * self.w[name]

    def rope(self, x, cos, sin):
        half = x.shape[-1] // 2
        rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
        return x * cos + rotated * sin

    def hidden(self, ids, positions, key_mask=None, cache=None):
        """Final-norm hidden states [B, T, H]. key_mask [B, past+T] (1 = real token); cache: list of (k, v) per layer, appended."""
        c = self.c
        B, T = ids.shape
        h, kvh, d = c['num_attention_heads'], c['num_key_value_heads'], c['head_dim']
        past = cache[0][0].shape[2] if cache and cache[0] is not None else 0
        S = past + T
        cos, sin = self.cos[positions][:, None], self.sin[positions][:, None]  # [B, 1, T, d]
        visible = torch.arange(S)[None, :] <= (past + torch.arange(T))[:, None]  # [T, S]
        visible = visible[None].expand(B, T, S)
        if key_mask is not None:
            visible = visible & (key_mask[:, None, :] != 0)
        mask = torch.zeros(B, 1, T, S).masked_fill(~visible[:, None], MASKED)
        x = self.w['model.embed_tokens.weight'][ids]
        for i in range(c['num_hidden_layers']):
            p = f'model.layers.{i}'
            a = self.rms(x, f'{p}.input_layernorm.weight')
            q = self.rope(self.linear(a, f'{p}.self_attn.q_proj').view(B, T, h, d).transpose(1, 2), cos, sin)
            k = self.rope(self.linear(a, f'{p}.self_attn.k_proj').view(B, T, kvh, d).transpose(1, 2), cos, sin)
            v = self.linear(a, f'{p}.self_attn.v_proj').view(B, T, kvh, d).transpose(1, 2)
            if cache is not None:
                if cache[i] is not None:
                    k = torch.cat([cache[i][0], k], dim=2)
                    v = torch.cat([cache[i][1], v], dim=2)
                cache[i] = (k, v)
            if kvh != h:  # query head j uses kv head j // (h / kvh), as HF's repeat_kv
                k = k.repeat_interleave(h // kvh, dim=1)
                v = v.repeat_interleave(h // kvh, dim=1)
            att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d) + mask, dim=-1)
            o = (att @ v).transpose(1, 2).reshape(B, T, h * d)
            x = x + self.linear(o, f'{p}.self_attn.o_proj')
            m = self.rms(x, f'{p}.post_attention_layernorm.weight')
            if self.gated:
                act = F.silu if c['hidden_act'] == 'silu' else F.gelu
                z = act(self.linear(m, f'{p}.mlp.gate_proj')) * self.linear(m, f'{p}.mlp.up_proj')
            else:
                z = F.gelu(self.linear(m, f'{p}.mlp.up_proj'))
            x = x + self.linear(z, f'{p}.mlp.down_proj')
        return self.rms(x, 'model.norm.weight')

    def logits(self, hidden):
        return hidden @ self.head().t()


def load_decoder(model_dir):
    with open(os.path.join(model_dir, 'config.json')) as f:
        config = json.load(f)
    return Decoder(config, read_safetensors(os.path.join(model_dir, 'model.safetensors')))


# ---- PPO step (sdk/ppo/losses.ts, trainer.ts update()) -------------------------------------------

def masked_mean(x, mask):
    return (x * mask).sum() / mask.sum().clamp(min=1)


class PPO:
    def __init__(self, fixture, meta):
        t = meta['trainer']
        self.meta = meta
        self.policy = load_decoder(os.path.join(fixture, 'policy'))
        self.critic = load_decoder(os.path.join(fixture, 'critic'))
        self.value_head = read_safetensors(os.path.join(fixture, 'critic', 'value_head.safetensors'))['value_head.weight'].float().requires_grad_(True)
        adam = dict(betas=tuple(t['betas']), eps=t['eps'], weight_decay=0)
        self.policy_opt = torch.optim.Adam(self.policy.params(), lr=t['policyLr'], **adam)
        self.critic_params = self.critic.params() + [self.value_head]
        self.critic_opt = torch.optim.Adam(self.critic_params, lr=t['criticLr'], **adam)

    def response_hidden(self, model, b):
        P, R = self.meta['P'], self.meta['R']
        return model.hidden(b['input_ids'], b['positions'], b['key_mask'])[:, P - 1:P - 1 + R]

    def critic_step(self, b):
        t = self.meta['trainer']
        v = (self.response_hidden(self.critic, b) @ self.value_head.t()).squeeze(-1)
        old, ret, mask = b['old_values'], b['returns'], b['mask']
        v_clip = old + (v - old).clamp(-t['valueClip'], t['valueClip'])
        err, err_clip = (v - ret).pow(2), (v_clip - ret).pow(2)
        loss = 0.5 * masked_mean(torch.maximum(err, err_clip), mask)
        clip_frac = masked_mean((err_clip > err).float(), mask)
        self.critic_opt.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(self.critic_params, t['gradClip'])
        self.critic_opt.step()
        return {'loss': loss.item(), 'clip_fraction': clip_frac.item(), 'grad_norm': float(norm)}

    def policy_step(self, b):
        t = self.meta['trainer']
        logsm = torch.log_softmax(self.policy.logits(self.response_hidden(self.policy, b)), dim=-1)
        logp = logsm.gather(-1, b['targets'][..., None]).squeeze(-1)
        entropy = -(logsm.exp() * logsm).sum(-1)
        mask, adv = b['mask'], b['advantages']
        log_ratio = logp - b['old_logp']
        ratio = log_ratio.exp()
        unclipped = -adv * ratio
        clipped = -adv * ratio.clamp(1 - t['clipRatio'], 1 + t['clipRatio'])
        loss = masked_mean(torch.maximum(unclipped, clipped), mask)
        stats = {'clip_fraction': masked_mean((clipped > unclipped).float(), mask),
                 'approx_kl': masked_mean(ratio - 1 - log_ratio, mask), 'entropy': masked_mean(entropy, mask)}
        self.policy_opt.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(self.policy.params(), t['gradClip'])
        self.policy_opt.step()
        return {'loss': loss.item(), **{k: v.item() for k, v in stats.items()}, 'grad_norm': float(norm)}


# ---- sampling (sdk/rollout/engine.ts) -----------------------------------------------------------

@torch.no_grad()
def sample(model, prompts, new_tokens, temperature, gen):
    B, P = prompts.shape
    cache = [None] * model.c['num_hidden_layers']
    key_mask = torch.ones(B, P)
    positions = torch.arange(P)[None].expand(B, P)
    logits = model.logits(model.hidden(prompts, positions, key_mask, cache)[:, -1])
    tokens, logprobs = [], []
    for step in range(new_tokens):
        probs = torch.softmax(logits / temperature, dim=-1)
        tok = torch.multinomial(probs, 1, generator=gen)  # [B, 1]
        tokens.append(tok)
        logprobs.append(torch.log_softmax(logits, dim=-1).gather(-1, tok))
        if step == new_tokens - 1:
            break
        key_mask = torch.cat([key_mask, torch.ones(B, 1)], dim=1)
        pos = torch.full((B, 1), P + step, dtype=torch.long)
        logits = model.logits(model.hidden(tok, pos, key_mask, cache)[:, -1])
    return torch.cat(tokens, 1), torch.cat(logprobs, 1)


# ---- timing -------------------------------------------------------------------------------------

def timed(fn, warmup, reps):
    """(wall seconds of each timed rep, result of the first call)."""
    first = None
    for i in range(warmup):
        r = fn()
        if i == 0:
            first = r
    times = []
    for i in range(reps):
        t0 = time.perf_counter()
        r = fn()
        times.append(time.perf_counter() - t0)
        if first is None:
            first = r
    return times, first


def loaded_blas():
    """Shared libraries in this process whose name says BLAS (which sgemm torch.mm really uses)."""
    libs = set()
    with open('/proc/self/maps') as f:
        for line in f:
            path = line.split()[-1] if len(line.split()) >= 6 else ''
            name = os.path.basename(path).lower()
            if 'blas' in name or 'mkl' in name:
                libs.add(path)
    return sorted(libs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--fixture', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--warmup', type=int, default=1)
    ap.add_argument('--reps', type=int, default=3)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--gemm', action='store_true', help='also measure the sgemm rate')
    a = ap.parse_args()
    if a.reps < 1 or a.warmup < 1:
        raise SystemExit('pytorch_reference.py: --reps and --warmup must be >= 1')
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    with open(os.path.join(a.fixture, 'meta.json')) as f:
        meta = json.load(f)
    raw = read_safetensors(os.path.join(a.fixture, 'batch.safetensors'))
    b = {k: (v.long() if v.dtype == torch.int32 else v) for k, v in raw.items()}
    load1 = os.getloadavg()[0]

    ppo = PPO(a.fixture, meta)
    # the same function: logits of the check rows against the SDK's (cpu backend) logits
    with torch.no_grad():
        ids = b['check_ids']
        pos = torch.arange(ids.shape[1])[None].expand_as(ids)
        got = ppo.policy.logits(ppo.policy.hidden(ids, pos))
        ref = b['check_logits']
        check = {'maxAbsDiff': (got - ref).abs().max().item(), 'maxAbsRef': ref.abs().max().item()}
        check['relErr'] = check['maxAbsDiff'] / check['maxAbsRef']

    parts = {'critic': [], 'policy': []}

    def train():
        t0 = time.perf_counter()
        c = ppo.critic_step(b)
        t1 = time.perf_counter()
        p = ppo.policy_step(b)
        parts['critic'].append(t1 - t0)
        parts['policy'].append(time.perf_counter() - t1)
        return {'critic': c, 'policy': p}

    train_s, first_stats = timed(train, a.warmup, a.reps)
    critic_s, policy_s = parts['critic'][a.warmup:], parts['policy'][a.warmup:]

    def forward():
        with torch.no_grad():
            ppo.policy.logits(ppo.policy.hidden(b['input_ids'], b['positions'], b['key_mask']))

    forward_s, _ = timed(forward, a.warmup, a.reps)

    s = meta['sampling']
    gen = torch.Generator().manual_seed(s['seed'])
    prompts = b['sample_prompts']
    sample_s, _ = timed(lambda: sample(ppo.policy, prompts, s['newTokens'], s['temperature'], gen), a.warmup, a.reps)

    gemm = []
    if a.gemm:
        for n in meta['gemmSizes']:
            x, y = torch.randn(n, n), torch.randn(n, n)
            ts, _ = timed(lambda: torch.mm(x, y), 1, a.reps)
            gemm.append({'n': n, 'seconds': ts, 'gflops': 2 * n ** 3 / min(ts) / 1e9})  # best rep: the kernel's rate

    result = {
        'engine': 'pytorch', 'torch': torch.__version__, 'threads': torch.get_num_threads(),
        'blas': loaded_blas(), 'python': sys.version.split()[0],
        'check': check, 'firstStep': first_stats,
        'trainSeconds': train_s, 'criticSeconds': critic_s, 'policySeconds': policy_s,
        'forwardSeconds': forward_s, 'samplingSeconds': sample_s,
        'sampledTokens': prompts.shape[0] * s['newTokens'],
        'gemm': gemm,
        'peakRssMB': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        'loadAvg': [load1, os.getloadavg()[0]],
    }
    tmp = a.out + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(result, f, indent=1)
    os.replace(tmp, a.out)


if __name__ == '__main__':
    main()
