#!/usr/bin/python3
"""PyTorch peer of bench/rollout.ts: the static KV-cache sampling loop on the same model and rows.

The rows are the ones orz's static engine generated (prompt ids, and how many tokens each row produced before
its stop string or budget). The peer does what a static loop does with them: rows in fixed chunks of --slots,
each chunk prefilled (left-padded, one prefill per row: no shared prefixes) and decoded with a KV cache,
one token per row per step, temperature sampling and the sampled token's log-prob, until the chunk's longest
row is done; a finished row stays in the chunk until then. Its tokens are its own samples (torch's
generator), but its useful work is orz's: tokens/s counts the rows' own lengths, as bench/rollout.ts does.

    /usr/bin/python3 bench/rollout_reference.py --input rows.json --out result.json [--threads 2] [--reps 3]

rows.json: {"modelDir": ..., "slots": 32, "temperature": 1, "seed": 1, "rows": [{"promptIds": [...], "length": n}, ...]}
"""

import argparse
import json
import os
import resource
import sys
import time

os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')  # as bench/pytorch_reference.py: idle threads sleep

import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_reference import load_decoder  # noqa: E402


@torch.no_grad()
def static_chunk(model, rows, temperature, gen):
    """Prefill left-padded prompts, then decode max(length) steps for every row of the chunk."""
    B = len(rows)
    P = max(len(r['promptIds']) for r in rows)
    ids = torch.zeros(B, P, dtype=torch.long)
    key_mask = torch.zeros(B, P)
    positions = torch.zeros(B, P, dtype=torch.long)
    for i, r in enumerate(rows):
        n = len(r['promptIds'])
        ids[i, P - n:] = torch.tensor(r['promptIds'])
        key_mask[i, P - n:] = 1
        positions[i, P - n:] = torch.arange(n)
    prompt_len = key_mask.sum(1).long()
    cache = [None] * model.c['num_hidden_layers']
    logits = model.logits(model.hidden(ids, positions, key_mask, cache)[:, -1])
    steps = max(r['length'] for r in rows)
    for step in range(steps):
        probs = torch.softmax(logits / temperature, dim=-1)
        tok = torch.multinomial(probs, 1, generator=gen)
        torch.log_softmax(logits, dim=-1).gather(-1, tok)  # the sampled token's log-prob, as the engine records
        if step == steps - 1:
            break
        key_mask = torch.cat([key_mask, torch.ones(B, 1)], dim=1)
        pos = (prompt_len + step)[:, None]
        logits = model.logits(model.hidden(tok, pos, key_mask, cache)[:, -1])
    return steps


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--input', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--reps', type=int, default=3, help='timed passes over the rows; the median is reported')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    with open(a.input) as f:
        spec = json.load(f)
    rows, slots = spec['rows'], spec['slots']
    if not rows or slots < 1:
        raise SystemExit(f'rollout_reference.py: {a.input}: needs rows and slots >= 1')
    model = load_decoder(spec['modelDir'])
    gen = torch.Generator().manual_seed(spec['seed'])
    static_chunk(model, rows[:2], spec['temperature'], gen)  # warm up, as the TypeScript cases do
    times = []
    for _ in range(max(1, a.reps)):
        t0 = time.perf_counter()
        decode_steps = 0
        for start in range(0, len(rows), slots):
            decode_steps += static_chunk(model, rows[start:start + slots], spec['temperature'], gen)
        times.append(time.perf_counter() - t0)
    seconds = sorted(times)[len(times) // 2]
    tokens = sum(r['length'] for r in rows)
    result = {
        'case': 'pytorch-static', 'torch': torch.__version__, 'threads': torch.get_num_threads(),
        'rows': len(rows), 'seconds': seconds, 'times': times, 'responseTokens': tokens, 'tokensPerSec': tokens / seconds,
        'decodeSteps': decode_steps, 'peakRssMB': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    tmp = a.out + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(result, f, indent=1)
    os.replace(tmp, a.out)


if __name__ == '__main__':
    main()
