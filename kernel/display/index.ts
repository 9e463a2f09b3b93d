// What a value looks like in the notebook: the mime bundle for the last expression of a cell and for
// display(x). Objects that format themselves come first (Symbol.for('Jupyter.display')); then the SDK's
// formatters from sdk/viz (so a value renders the same here, in tslab and in reports); then util.inspect.
// text/plain is always present, for front ends that render nothing else.
import { isPlotlyFigure, isTensorLike, plotlyBundle, recordsBundle, tensorBundle, type MimeBundle, type PlotlyFigure } from '../../sdk/viz/index.ts';
import { callCustomDisplay, hasCustomDisplay, isPromiseLike, methodName, normalizeBundle } from './custom.ts';
import { collectionHtml, errorText, inspectText, isError } from './plain.ts';

import { DisplayDataError, jsonSafe } from '../json-safe.ts';

export { DisplayDataError };

export interface DisplayContent {
  data: MimeBundle;
  metadata: Record<string, unknown>;
}

const content = (data: MimeBundle): DisplayContent => ({ data, metadata: {} });

/** The SDK's and the plain formatters, for values without a display method of their own. */
export function builtinBundle(value: unknown): MimeBundle {
  // Plain JSON first: a trace's Float32Array would reach the front end as {"0": ...} and draw nothing.
  if (isPlotlyFigure(value)) return plotlyBundle(jsonSafe(value, { onCycle: 'throw', where: 'plotly figure' }) as PlotlyFigure);
  if (isTensorLike(value)) return tensorBundle(value);
  if (isError(value)) return { 'text/plain': errorText(value) };
  if (Array.isArray(value)) {
    const table = recordsBundle(value);
    if (table) return table;
  }
  const text = inspectText(value);
  const html = collectionHtml(value);
  return html ? { 'text/plain': text, 'text/html': html } : { 'text/plain': text };
}

function fromCustom(value: unknown, raw: unknown): DisplayContent {
  const bundle = normalizeBundle(raw, methodName(value));
  if (bundle === null) return content(builtinBundle(value));
  if (typeof bundle['text/plain'] !== 'string') bundle['text/plain'] = inspectText(value);
  return content(bundle);
}

/**
 * The mime bundle for a value, or null for undefined (nothing to show). Synchronous unless the value's
 * display method returns a promise. Throws (or rejects with) a DisplayDataError naming the class and
 * mime type when a display method throws or returns something that is not a bundle.
 */
export function displayContent(value: unknown): DisplayContent | null | Promise<DisplayContent | null> {
  if (value === undefined) return null;
  if (hasCustomDisplay(value)) {
    const raw = callCustomDisplay(value);
    if (isPromiseLike(raw)) {
      return Promise.resolve(raw).then(
        (resolved) => fromCustom(value, resolved),
        (err: unknown) => {
          throw new DisplayDataError(`${methodName(value)} rejected: ${(err as Error)?.message ?? String(err)}`, { cause: err });
        },
      );
    }
    return fromCustom(value, raw);
  }
  return content(builtinBundle(value));
}
