// Packed training batches (ORZ's packing_max_len): instead of padding every row to the longest one, the
// rows of a (micro-)batch are laid end to end in a few sequences of at most `capacity` tokens. Each sample
// keeps its own positions 0..len-1 (so rotary angles are per sample) and a segment id; attention is
// causal AND within the same segment (sdk/model/attention.ts), so a sample never sees another one.
//
// Per sample the fed tokens are its prompt and its response minus the last token (nothing after it is
// predicted): f = p + r - 1. Response token j of a sample at offset o is predicted by the hidden state at
// o + p - 1 + j; `gather` lists those flat indices in [rows, R] order, so the forward hands the losses
// the same [rows, R, H] hidden states as the padded batch (padding columns gather index 0, masked out).

/** Where each row sits: sequence and offset, one sequence list of rows per packed sequence. */
export interface Packing {
  sequences: number[][]; // row indices per sequence, in placement order
  seqOf: Int32Array;     // [rows] sequence of each row (-1 for a row with nothing to feed)
  offsetOf: Int32Array;  // [rows] first token of each row inside its sequence
  width: number;         // the longest packed sequence (the tensor's time axis)
}

/**
 * First-fit decreasing bin packing of fed lengths into bins of `capacity` tokens: rows by length,
 * longest first (ties by row order, so the result is deterministic), each into the first sequence with
 * room. Why FFD rather than ORZ's in-order greedy: the losses do not depend on where a row lands (the
 * gather restores row order), so placement is free, and FFD never needs more than 11/9 of the optimal
 * number of sequences, where in-order greedy can need twice as many; with a dense [W, W] mask per
 * sequence the attention cost is sequences x W^2. A row longer than `capacity` gets a sequence of its own.
 */
export function packRows(fed: ArrayLike<number>, capacity: number): Packing {
  if (!(capacity >= 1) || !Number.isInteger(capacity)) throw new Error(`packRows: capacity must be a positive integer, got ${capacity}`);
  const n = fed.length;
  const order = Array.from({ length: n }, (_, i) => i).filter((i) => fed[i]! > 0);
  order.sort((a, b) => fed[b]! - fed[a]! || a - b);
  const sequences: number[][] = [];
  const used: number[] = [];
  const seqOf = new Int32Array(n).fill(-1);
  const offsetOf = new Int32Array(n);
  for (const i of order) {
    const f = fed[i]!;
    let s = used.findIndex((u) => u + f <= capacity);
    if (s < 0) { s = sequences.length; sequences.push([]); used.push(0); }
    seqOf[i] = s;
    offsetOf[i] = used[s]!;
    sequences[s]!.push(i);
    used[s]! += f;
  }
  return { sequences, seqOf, offsetOf, width: used.reduce((a, u) => Math.max(a, u), 0) };
}

/** The sequence capacity a packing setting gives for rows fed `fed` tokens: 'auto' = the longest row. */
export function packingCapacity(setting: number | 'auto', fed: ArrayLike<number>): number {
  let longest = 1;
  for (let i = 0; i < fed.length; i++) longest = Math.max(longest, fed[i]!);
  return setting === 'auto' ? longest : setting;
}
