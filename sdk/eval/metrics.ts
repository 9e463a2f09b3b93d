// Evaluation metrics over n scored samples per question: mean@n (ORZ's "average over 16 samples"),
// unbiased pass@k (Chen et al. 2021), response lengths and the truncated fraction, overall and by level.

/** How one question did: `correct` of its `n` samples were correct. */
export interface QuestionOutcome {
  n: number;
  correct: number;
  /** The record's level (MATH's 1-5, or any label), when it has one. */
  level?: string;
}

/** One scored sample as the metrics need it. */
export interface ScoredSample {
  questionIndex: number;
  reward: number;
  finishReason: 'stop' | 'length';
  responseTokens: number;
  responseChars: number;
}

/** A sample counts as correct when its reward is above one half (the binary rewards give 0 or 1). */
export const CORRECT_ABOVE = 0.5;

export const isCorrect = (reward: number): boolean => reward > CORRECT_ABOVE;

/**
 * Unbiased pass@k from n samples of which c are correct: 1 - C(n-c, k) / C(n, k), the chance that k of the
 * n samples drawn without replacement include a correct one. Computed as 1 - prod_{i=n-c+1..n} (1 - k/i),
 * which never forms the binomials (they overflow for n in the hundreds).
 */
export function passAtK(n: number, c: number, k: number): number {
  if (!(Number.isInteger(n) && n > 0)) throw new RangeError(`passAtK: n must be a positive integer, got ${n}`);
  if (!(Number.isInteger(c) && c >= 0 && c <= n)) throw new RangeError(`passAtK: c must be an integer in [0, n=${n}], got ${c}`);
  if (!(Number.isInteger(k) && k >= 1 && k <= n)) throw new RangeError(`passAtK: k must be an integer in [1, n=${n}], got ${k}`);
  if (n - c < k) return 1; // every draw of k samples holds a correct one
  let allWrong = 1;
  for (let i = n - c + 1; i <= n; i++) allWrong *= 1 - k / i;
  return 1 - allWrong;
}

/** The k reported for n samples: 1, the powers of two below n, and n itself. */
export function reportedKs(n: number): number[] {
  const ks = new Set<number>();
  for (let k = 1; k <= n; k *= 2) ks.add(k);
  ks.add(n);
  return [...ks].sort((a, b) => a - b);
}

function checkOutcomes(questions: QuestionOutcome[], what: string): void {
  if (questions.length === 0) throw new RangeError(`${what}: no questions`);
  questions.forEach((q, i) => {
    if (!(Number.isInteger(q.n) && q.n > 0 && Number.isInteger(q.correct) && q.correct >= 0 && q.correct <= q.n)) {
      throw new RangeError(`${what}: question ${i} has correct=${q.correct} of n=${q.n}`);
    }
  });
}

/** mean@n: the mean over questions of the fraction of each question's samples that are correct. */
export function meanAtN(questions: QuestionOutcome[]): number {
  checkOutcomes(questions, 'meanAtN');
  return questions.reduce((a, q) => a + q.correct / q.n, 0) / questions.length;
}

/** pass@k averaged over questions (each question by its own n). */
export function meanPassAtK(questions: QuestionOutcome[], k: number): number {
  checkOutcomes(questions, 'meanPassAtK');
  return questions.reduce((a, q) => a + passAtK(q.n, q.correct, k), 0) / questions.length;
}

/** Accuracy figures of a set of questions that all have the same n. */
export interface AccuracyMetrics {
  questions: number;
  /** mean@n; with n = 1 at temperature 0 it is greedy accuracy. */
  meanAtN: number;
  /** pass@k by k, for reportedKs(n). */
  passAtK: Record<number, number>;
}

export function accuracyMetrics(questions: QuestionOutcome[]): AccuracyMetrics {
  checkOutcomes(questions, 'accuracyMetrics');
  const n = questions[0]!.n;
  const other = questions.findIndex((q) => q.n !== n);
  if (other >= 0) throw new RangeError(`accuracyMetrics: question 0 has n=${n} but question ${other} has n=${questions[other]!.n}`);
  const passAt: Record<number, number> = {};
  for (const k of reportedKs(n)) passAt[k] = meanPassAtK(questions, k);
  return { questions: questions.length, meanAtN: meanAtN(questions), passAtK: passAt };
}

/** Levels in a readable order: numerically when they are all numbers, else as strings. */
function sortLevels(levels: string[]): string[] {
  const numeric = levels.every((l) => l.trim() !== '' && Number.isFinite(Number(l)));
  return [...levels].sort(numeric ? (a, b) => Number(a) - Number(b) : undefined);
}

export interface LevelMetrics extends AccuracyMetrics { level: string }

/** accuracyMetrics per level, for the questions that have one; [] when none has. */
export function metricsByLevel(questions: QuestionOutcome[]): LevelMetrics[] {
  const groups = new Map<string, QuestionOutcome[]>();
  for (const q of questions) {
    if (q.level === undefined) continue;
    let g = groups.get(q.level);
    if (!g) groups.set(q.level, (g = []));
    g.push(q);
  }
  return sortLevels([...groups.keys()]).map((level) => ({ level, ...accuracyMetrics(groups.get(level)!) }));
}

export interface LengthMetrics {
  /** Mean and largest response length in tokens. */
  meanTokens: number;
  maxTokens: number;
  /** Mean and largest response length in characters. */
  meanChars: number;
  maxChars: number;
  /** Fraction of samples cut off by the token budget (finishReason 'length'). */
  truncatedFraction: number;
  /** Mean reward (for a binary reward, the fraction of all samples correct: mean@n when every question has n). */
  meanReward: number;
}

export function lengthMetrics(samples: ScoredSample[]): LengthMetrics {
  if (samples.length === 0) throw new RangeError('lengthMetrics: no samples');
  const mean = (f: (s: ScoredSample) => number) => samples.reduce((a, s) => a + f(s), 0) / samples.length;
  const max = (f: (s: ScoredSample) => number) => samples.reduce((a, s) => Math.max(a, f(s)), 0);
  return {
    meanTokens: mean((s) => s.responseTokens),
    maxTokens: max((s) => s.responseTokens),
    meanChars: mean((s) => s.responseChars),
    maxChars: max((s) => s.responseChars),
    truncatedFraction: mean((s) => (s.finishReason === 'length' ? 1 : 0)),
    meanReward: mean((s) => s.reward),
  };
}

/** Per question: how many of its samples are correct. Questions are 0..questions-1; each must have n samples. */
export function questionOutcomes(samples: ScoredSample[], questions: number, n: number, levels: (string | undefined)[] = []): QuestionOutcome[] {
  const counts = new Array<number>(questions).fill(0);
  const seen = new Array<number>(questions).fill(0);
  for (const s of samples) {
    if (!(Number.isInteger(s.questionIndex) && s.questionIndex >= 0 && s.questionIndex < questions)) {
      throw new RangeError(`questionOutcomes: sample of question ${s.questionIndex}, but there are ${questions} questions`);
    }
    seen[s.questionIndex]!++;
    if (isCorrect(s.reward)) counts[s.questionIndex]!++;
  }
  const short = seen.findIndex((c) => c !== n);
  if (short >= 0) throw new RangeError(`questionOutcomes: question ${short} has ${seen[short]} samples, expected ${n}`);
  return counts.map((correct, i) => {
    const level = levels[i];
    return level === undefined ? { n, correct } : { n, correct, level };
  });
}
