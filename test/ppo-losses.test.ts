import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../sdk/engine/tf.ts';
import { klPerToken, klValue, policyLoss, valueLoss } from '../sdk/ppo/losses.ts';

const t2 = (rows: number[][]) => tf.tensor2d(rows);
const near = (a: number, b: number, tol = 1e-5) => assert.ok(Math.abs(a - b) < tol, `${a} vs ${b}`);

test('policy loss clips the ratio only where it would help the objective', () => {
  // tokens: (ratio 1.5, A=+1) clipped to 1.2 -> -1.2 ; (1.5, A=-1) unclipped -> 1.5
  //         (0.5, A=+1) unclipped -> -0.5 ; (0.5, A=-1) clipped to 0.8 -> 0.8 ; 5th token masked out
  const old = t2([[0, 0, 0, 0, 0]]);
  const logp = t2([[Math.log(1.5), Math.log(1.5), Math.log(0.5), Math.log(0.5), 3]]);
  const adv = t2([[1, -1, 1, -1, 100]]);
  const mask = t2([[1, 1, 1, 1, 0]]);
  const { loss, clipFraction, approxKL } = policyLoss(logp as tf.Tensor2D, old as tf.Tensor2D, adv as tf.Tensor2D, mask as tf.Tensor2D, 0.2);
  near(loss.dataSync()[0]!, (-1.2 + 1.5 - 0.5 + 0.8) / 4);
  near(clipFraction.dataSync()[0]!, 0.5);
  // k3 of ratios 1.5,1.5,0.5,0.5: (r - 1) - log r
  const k3 = (r: number) => r - 1 - Math.log(r);
  near(approxKL.dataSync()[0]!, (2 * k3(1.5) + 2 * k3(0.5)) / 4);
});

test('policy loss gradient vanishes on clipped tokens', () => {
  const old = t2([[0, 0]]);
  const adv = t2([[1, 1]]);
  const mask = t2([[1, 1]]);
  const g = tf.grad((lp: tf.Tensor) => policyLoss(lp as tf.Tensor2D, old as tf.Tensor2D, adv as tf.Tensor2D, mask as tf.Tensor2D).loss)(
    t2([[Math.log(1.5), Math.log(1.1)]]),
  );
  const [g0, g1] = g.dataSync();
  near(g0!, 0);                 // ratio 1.5 > 1.2 with A > 0: clipped, no gradient
  near(g1!, -1.1 / 2);          // d/dlogp of -A * exp(logp) / 2 tokens
});

test('value loss takes the worse of clipped and unclipped errors', () => {
  // (V=1, Vold=.5, G=0): err 1, clipped V=.7 -> .49 -> 1
  // (V=0, Vold=.5, G=1): err 1, clipped V=.3 -> .49 -> 1
  // (V=.9, Vold=.5, G=1): err .01, clipped V=.7 -> .09 -> .09
  const { loss, clipFraction } = valueLoss(
    t2([[1, 0, 0.9]]) as tf.Tensor2D, t2([[0.5, 0.5, 0.5]]) as tf.Tensor2D, t2([[0, 1, 1]]) as tf.Tensor2D, t2([[1, 1, 1]]) as tf.Tensor2D, 0.2,
  );
  near(loss.dataSync()[0]!, 0.5 * (1 + 1 + 0.09) / 3);
  near(clipFraction.dataSync()[0]!, 1 / 3);
});

test('value clip fraction ignores rounding noise inside the trust region', () => {
  // Every |V - V_old| < 0.2, so nothing is clipped; but V_old + (V - V_old) differs from V by an ulp for some of
  // these (V and V_old of different magnitudes), which the old err-vs-errClip comparison counted as clipping.
  const n = 256;
  const old = Array.from({ length: n }, (_, i) => Math.fround(0.003 + 0.0001 * i));
  const v = old.map((_, i) => Math.fround(0.17 * Math.sin(i * 1.7)));
  const g = old.map((_, i) => (i % 3 ? 1 : -0.5));
  const { clipFraction } = valueLoss(t2([v]) as tf.Tensor2D, t2([old]) as tf.Tensor2D, t2([g]) as tf.Tensor2D, t2([v.map(() => 1)]) as tf.Tensor2D, 0.2);
  assert.equal(clipFraction.dataSync()[0], 0);
});

test('KL estimators k1 and k3', () => {
  const lp = tf.tensor1d([-1, -2]);
  const ref = tf.tensor1d([-1.5, -1]);
  const k1 = klPerToken(lp, ref, 'k1').dataSync();
  near(k1[0]!, 0.5); near(k1[1]!, -1);
  const k3 = klPerToken(lp, ref, 'k3').dataSync();
  near(k3[0]!, Math.exp(-0.5) + 0.5 - 1); near(k3[1]!, Math.exp(1) - 1 - 1);
  near(klValue(-1, -1.5, 'k3'), k3[0]!);
  assert.ok(k3[0]! >= 0 && k3[1]! >= 0);
});
