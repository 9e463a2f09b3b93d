// display(), clearOutput() and execute results: values become mime bundles through kernel/display's
// displayContent and go out as display_data / update_display_data / execute_result.

import type { MessageHeader } from '../protocol/wire.ts';
import { displayContent, type DisplayContent } from './parts.ts';
import type { KernelLink } from './link.ts';

export interface DisplayOptions {
  /** Display id: a later display(x, { id, update: true }) replaces this output in place. */
  id?: string;
  /** Replace the output shown earlier under `id` (update_display_data) instead of adding one. */
  update?: boolean;
  /** `value` is already a mime bundle ({ 'text/html': ..., 'text/plain': ... }). */
  raw?: boolean;
  metadata?: Record<string, unknown>;
}

function checkOptions(opts: DisplayOptions): void {
  if (opts.update && !opts.id) throw new TypeError('display(value, { update: true }) needs an id: display(value, { id, update: true })');
  if (opts.id !== undefined && typeof opts.id !== 'string') throw new TypeError(`display: id must be a string, got ${typeof opts.id}`);
}

function isBundle(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).every((k) => k.includes('/'));
}

export class Displayer {
  constructor(readonly link: KernelLink, readonly currentParent: () => Partial<MessageHeader> | null) {}

  /** Sends an already formatted bundle. */
  sendBundle(content: DisplayContent, opts: DisplayOptions = {}): void {
    checkOptions(opts);
    const metadata = { ...content.metadata, ...(opts.metadata ?? {}) };
    const transient = opts.id ? { display_id: opts.id } : {};
    this.link.publish(opts.update ? 'update_display_data' : 'display_data', { data: content.data, metadata, transient }, this.currentParent());
  }

  /** display(value, opts): synchronous when the value formats synchronously, else a promise to await. */
  display(value: unknown, opts: DisplayOptions = {}): void | Promise<void> {
    checkOptions(opts);
    if (opts.raw) {
      if (!isBundle(value)) throw new TypeError('display(bundle, { raw: true }): bundle must map mime types ("text/html", ...) to data');
      this.sendBundle({ data: value, metadata: {} }, opts);
      return;
    }
    const content = displayContent(value);
    if (content instanceof Promise) return content.then((c) => { if (c) this.sendBundle(c, opts); });
    if (content) this.sendBundle(content, opts);
  }

  clearOutput(wait = false): void {
    this.link.publish('clear_output', { wait: wait === true }, this.currentParent());
  }
}
