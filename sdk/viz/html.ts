// Mime bundles and the small amount of HTML hygiene every renderer in sdk/viz needs.

/** What a notebook front end displays: mime type -> data (Jupyter's display_data / execute_result format). */
export type MimeBundle = Record<string, unknown>;

/**
 * The method key notebook kernels look for to get an object's mime bundle: `obj[JUPYTER_DISPLAY]()`.
 * Same symbol as Symbol.for('Jupyter.display'), but typed as a unique symbol so TypeScript sees the method.
 */
export const JUPYTER_DISPLAY: unique symbol = Symbol.for('Jupyter.display');

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escape text for use in HTML element content and in quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch]!);
}

/**
 * JSON that is safe inside a <script> element: every `<` (only possible inside JSON strings) becomes
 * \u003c, so no `</script>` or `<!--` in the data can end or confuse the element.
 * U+2028/2029 are escaped too, since older JS engines reject them in string literals.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/**
 * Make third-party JavaScript source safe to inline in a <script> element. `</script` and `<!--` would
 * end or alter the element; in a minified bundle they only occur inside string literals, where
 * `<\/script` and `<\!--` mean the same characters.
 */
export function inlineScriptSource(source: string): string {
  return source.replace(/<\/script/gi, '<\\/script').replace(/<!--/g, '<\\!--');
}
