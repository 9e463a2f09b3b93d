#!/usr/bin/python3
"""PyTorch's side of bench/scale.ts: one phase of one size, the same work as bench/scale-steps.ts.

The model is bench/pytorch_reference.py's Decoder (the SDK's architecture written in PyTorch) over the
weights orz's init phase wrote to DIR/policy; the critic is a copy of the policy with a fresh value
head, as Critic.fromPolicy makes it. The PPO batches, forward batches and prompts are random ids of the
same shapes as orz's (not the same values: time does not depend on them); the forward phase checks the
function itself on orz's check rows (DIR/check.safetensors).

    /usr/bin/python3 bench/scale_reference.py --dir DIR --phase train|forward|sampling --out FILE.json

Rewrites --out after every measured length, so a phase killed for memory leaves what it finished.
"""

import argparse
import json
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pytorch_reference as ref  # noqa: E402  (sets OMP_WAIT_POLICY before torch loads)
import torch  # noqa: E402


class ScalePPO(ref.PPO):
    """pytorch_reference's PPO update over given models, with the prompt/response split per batch."""

    def __init__(self, policy, critic, value_head, trainer):
        self.meta = {'trainer': trainer}
        self.policy, self.critic, self.value_head = policy, critic, value_head
        adam = dict(betas=tuple(trainer['betas']), eps=trainer['eps'], weight_decay=0)
        self.policy_opt = torch.optim.Adam(policy.params(), lr=trainer['policyLr'], **adam)
        self.critic_params = critic.params() + [value_head]
        self.critic_opt = torch.optim.Adam(self.critic_params, lr=trainer['criticLr'], **adam)

    def response_hidden(self, model, b):
        P, R = b['P'], b['R']
        return model.hidden(b['input_ids'], b['positions'], b['key_mask'])[:, P - 1:P - 1 + R]


def train_layout(T):
    """bench/scale-sizes.ts trainLayout: P + R - 1 = T, prompts T/8 tokens."""
    P = max(1, T // 8)
    return P, T - P + 1


def ppo_batch(B, T, vocab, gen):
    P, R = train_layout(T)
    ids = torch.randint(0, vocab, (B, P + R), generator=gen)
    return {
        'P': P, 'R': R,
        'input_ids': ids[:, :T], 'positions': torch.arange(T)[None].expand(B, T), 'key_mask': torch.ones(B, T),
        'targets': ids[:, P:], 'mask': torch.ones(B, R),
        'old_logp': -torch.log(torch.tensor(float(vocab))) + 0.1 * torch.randn(B, R, generator=gen),
        'advantages': torch.randn(B, R, generator=gen), 'old_values': 0.1 * torch.randn(B, R, generator=gen),
        'returns': (torch.rand(B, 1, generator=gen) < 0.5).float().expand(B, R),
    }


def clock(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def train(size, policy, gen, result, save):
    t = size['train']
    H = policy.c['hidden_size']
    critic = ref.Decoder(size['config'], {k: v.detach().clone() for k, v in policy.w.items()})
    value_head = (torch.randn(1, H, generator=gen) / (H + 1)).requires_grad_(True)
    ppo = ScalePPO(policy, critic, value_head, size['trainer'])
    for T in t['lengths']:
        b = ppo_batch(t['rows'], T, size['config']['vocab_size'], gen)
        run = {'T': T, 'rows': t['rows'], 'seconds': [], 'criticSeconds': [], 'policySeconds': []}
        for i in range(t['warmup'] + t['reps']):
            c = clock(lambda: ppo.critic_step(b))
            p = clock(lambda: ppo.policy_step(b))
            if i >= t['warmup']:
                run['seconds'].append(c + p)
                run['criticSeconds'].append(c)
                run['policySeconds'].append(p)
        result['runs'].append(run)
        save()


@torch.no_grad()
def forward_once(model, ids):
    B, T = ids.shape
    return model.logits(model.hidden(ids, torch.arange(T)[None].expand(B, T)))


def forward(size, policy, gen, result, save, dir):
    check = ref.read_safetensors(os.path.join(dir, 'check.safetensors'))
    want = check['logits']
    got = forward_once(policy, check['ids'].long())
    result['checkRelErr'] = ((got - want).abs().max() / want.abs().max()).item()
    f = size['forward']
    vocab = size['config']['vocab_size']
    forward_once(policy, torch.randint(0, vocab, (f['rows'], f['warmupLength']), generator=gen))
    for T in f['lengths']:
        ids = torch.randint(0, vocab, (f['rows'], T), generator=gen)
        run = {'T': T, 'rows': f['rows'], 'seconds': [clock(lambda: forward_once(policy, ids)) for _ in range(f['reps'])]}
        result['runs'].append(run)
        save()


def sampling(size, policy, gen, result, save):
    s = size['sampling']
    prompts = torch.randint(0, size['config']['vocab_size'], (s['prompts'], s['promptLen']), generator=gen)
    ref.sample(policy, prompts, 2, 1.0, gen)
    tokens = []
    seconds = [clock(lambda: tokens.append(ref.sample(policy, prompts, s['newTokens'], 1.0, gen)[0].numel())) for _ in range(s['reps'])]
    result['runs'].append({'T': s['promptLen'] + s['newTokens'], 'rows': s['prompts'], 'seconds': seconds, 'tokens': tokens[-1]})


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--dir', required=True)
    ap.add_argument('--phase', required=True, choices=['train', 'forward', 'sampling'])
    ap.add_argument('--out', required=True)
    ap.add_argument('--threads', type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    with open(os.path.join(a.dir, 'size.json')) as f:
        size = json.load(f)
    load_start = os.getloadavg()[0]
    result = {'engine': 'pytorch', 'phase': a.phase, 'runs': [], 'torch': torch.__version__,
              'threads': torch.get_num_threads(), 'python': sys.version.split()[0]}

    def save():
        result['blas'] = ref.loaded_blas()
        result['peakRssMB'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        result['loadAvg'] = [load_start, os.getloadavg()[0]]
        tmp = a.out + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(result, f, indent=1)
        os.replace(tmp, a.out)

    gen = torch.Generator().manual_seed(size['seed'])
    policy = ref.load_decoder(os.path.join(a.dir, 'policy'))
    if a.phase == 'train':
        train(size, policy, gen, result, save)
    elif a.phase == 'forward':
        forward(size, policy, gen, result, save, a.dir)
    else:
        sampling(size, policy, gen, result, save)
    save()


if __name__ == '__main__':
    main()
