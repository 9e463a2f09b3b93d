// ORZ's response metrics: reflection-word counts and repeatness (suffix array + LCP), on hand-computed cases and
// against the definition computed the slow way (sorting every suffix as a string).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reflectionWordCounts, reflectionWords, repeatness, responsePatterns } from '../sdk/eval/index.ts';
import { Rng } from '../sdk/engine/rng.ts';

/** The definition: sort all suffixes, sum the common prefixes of neighbours, normalise by n(n+1)/2. */
function slowRepeatness(text: string): number {
  const s = Array.from(text);
  const n = s.length;
  if (n <= 1) return 0;
  const suffixes = s.map((_, i) => s.slice(i));
  suffixes.sort((a, b) => {
    for (let k = 0; k < Math.min(a.length, b.length); k++) if (a[k] !== b[k]) return a[k]!.codePointAt(0)! - b[k]!.codePointAt(0)!;
    return a.length - b.length;
  });
  let sum = 0;
  for (let i = 1; i < n; i++) {
    let h = 0;
    while (h < suffixes[i - 1]!.length && h < suffixes[i]!.length && suffixes[i - 1]![h] === suffixes[i]![h]) h++;
    sum += h;
  }
  return (2 * sum) / (n * (n + 1));
}

test('repeatness: hand-computed cases, and the definition on random texts', () => {
  // abab: sorted suffixes ab, abab, b, bab; neighbours share 2, 0, 1 -> 2 * 3 / (4 * 5)
  assert.equal(repeatness('abab'), 0.3);
  // aaaa: a, aa, aaa, aaaa share 1, 2, 3 -> 12 / 20
  assert.equal(repeatness('aaaa'), 0.6);
  assert.equal(repeatness('abcd'), 0);
  assert.equal(repeatness('a'), 0);
  assert.equal(repeatness(''), 0);
  assert.equal(repeatness('😀😀'), repeatness('aa')); // code points, not UTF-16 units
  const rng = new Rng(7);
  for (let i = 0; i < 60; i++) {
    const alphabet = 'ab3+= .'.slice(0, 1 + (i % 7));
    const text = Array.from({ length: rng.int(0, 80) }, () => alphabet[rng.int(0, alphabet.length - 1)]).join('');
    assert.ok(Math.abs(repeatness(text) - slowRepeatness(text)) < 1e-12, JSON.stringify(text));
  }
  // a response that loops is far more repetitive than one that does not
  assert.ok(repeatness('3+4=7. 7+2=9. '.repeat(6)) > 0.5);
  assert.ok(repeatness('3+4=7. 7*2=14. 14-5=9.') < 0.1);
});

test('reflection words: ORZ\'s patterns, case-insensitive, only with their punctuation', () => {
  const text = 'Wait, 3+4=7. Let me recheck it. However, I will retry. wait 5. Alternatively, recheck.';
  assert.deepEqual(reflectionWordCounts(text), { 'wait,': 1, 'recheck[,\\s]': 1, retry: 1, 'alternatively,': 1, 'however,': 1 });
  assert.equal(reflectionWords(text), 5);
  assert.equal(reflectionWords('3+4=7. </think> <answer> \\boxed{7} </answer>'), 0);
  assert.deepEqual(responsePatterns([{ response: text }, { response: 'abab' }]), {
    responses: 2, reflectionWords: 2.5, reflectiveFraction: 0.5, repeatness: (repeatness(text) + 0.3) / 2,
  });
});
