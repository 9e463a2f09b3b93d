// A binary min-heap ordered by a comparator (used for BPE merge order and trainer pair counts).

export class MinHeap<T> {
  private items: T[] = [];

  constructor(private readonly less: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  push(item: T): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(a[i]!, a[parent]!)) break;
      [a[i], a[parent]] = [a[parent]!, a[i]!];
      i = parent;
    }
  }

  pop(): T | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let smallest = i;
        if (l < a.length && this.less(a[l]!, a[smallest]!)) smallest = l;
        if (r < a.length && this.less(a[r]!, a[smallest]!)) smallest = r;
        if (smallest === i) break;
        [a[i], a[smallest]] = [a[smallest]!, a[i]!];
        i = smallest;
      }
    }
    return top;
  }
}
