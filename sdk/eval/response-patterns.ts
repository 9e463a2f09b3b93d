// What ORZ logs about its responses besides reward and length: how often they use reflection words
// ("wait,", "recheck", "retry", "alternatively,", "however,": the self-checking ORZ watches emerge) and how
// repetitive they are (ORZ's repeatness: the share of repeated substrings, from a suffix array).

/** ORZ's reflection patterns (orz/ppo/utils.py), matched on the lowercased response. */
export const REFLECTION_PATTERNS: readonly RegExp[] = [/wait,/g, /recheck[,\s]/g, /retry/g, /alternatively,/g, /however,/g];

/** How many times the response uses each reflection pattern, by pattern source ("wait,": 2). */
export function reflectionWordCounts(response: string): Record<string, number> {
  const text = response.toLowerCase();
  return Object.fromEntries(REFLECTION_PATTERNS.map((p) => [p.source, text.match(p)?.length ?? 0]));
}

/** All reflection-pattern matches in the response (ORZ's reflection_pattern_score). */
export function reflectionWords(response: string): number {
  return Object.values(reflectionWordCounts(response)).reduce((a, n) => a + n, 0);
}

/** Start positions of the suffixes of `s` in sorted order (prefix doubling: ranks of 2^k-long prefixes). */
function suffixArray(s: number[]): Int32Array {
  const n = s.length;
  const sa = Int32Array.from({ length: n }, (_, i) => i);
  let rank = Int32Array.from(s);
  const next = new Int32Array(n);
  for (let k = 1; ; k *= 2) {
    const second = (i: number) => (i + k < n ? rank[i + k]! : -1);
    sa.sort((a, b) => rank[a]! - rank[b]! || second(a) - second(b));
    next[sa[0]!] = 0;
    for (let i = 1; i < n; i++) {
      const a = sa[i - 1]!, b = sa[i]!;
      next[b] = next[a]! + (rank[a] !== rank[b] || second(a) !== second(b) ? 1 : 0);
    }
    rank = Int32Array.from(next);
    if (rank[sa[n - 1]!] === n - 1 || k >= n) return sa;
  }
}

/** Sum of the longest common prefixes of suffixes next to each other in sorted order (Kasai et al.). */
function adjacentLcpSum(s: number[], sa: Int32Array): number {
  const n = s.length;
  const rankOf = new Int32Array(n);
  sa.forEach((start, r) => { rankOf[start] = r; });
  let sum = 0;
  let h = 0;
  for (let i = 0; i < n; i++) {
    const r = rankOf[i]!;
    if (r === n - 1) { h = 0; continue; }
    const j = sa[r + 1]!;
    while (i + h < n && j + h < n && s[i + h] === s[j + h]) h++;
    sum += h;
    if (h > 0) h--;
  }
  return sum;
}

/**
 * ORZ's repeatness of a text: 2 * (sum of adjacent LCPs in its suffix array) / (n (n + 1)), over code points;
 * 0 for a text with no repeated substring (or under 2 characters), near 1 for one character repeated.
 */
export function repeatness(text: string): number {
  const s = Array.from(text, (c) => c.codePointAt(0)!);
  const n = s.length;
  if (n <= 1) return 0;
  return (2 * adjacentLcpSum(s, suffixArray(s))) / (n * (n + 1));
}

export interface ResponsePatterns {
  responses: number;
  /** Mean reflection-pattern matches per response. */
  reflectionWords: number;
  /** Share of responses with at least one. */
  reflectiveFraction: number;
  /** Mean repeatness. */
  repeatness: number;
}

/** The means over a batch's responses (e.g. `trainer.lastBatch.samples()`). */
export function responsePatterns(samples: readonly { response: string }[]): ResponsePatterns {
  const words = samples.map((s) => reflectionWords(s.response));
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, x) => a + x, 0) / xs.length : 0);
  return {
    responses: samples.length,
    reflectionWords: mean(words),
    reflectiveFraction: mean(words.map((w) => (w > 0 ? 1 : 0))),
    repeatness: mean(samples.map((s) => repeatness(s.response))),
  };
}
