// Response budgets when prompts are long: a record gets min(maxNewTokens, context - its prompt tokens) new
// tokens. The engine applies this per row, so the harness uses it only to report shortened and skipped records.

/** New tokens a prompt of `promptTokens` gets under the context (0: no room at all). */
export function responseBudget(promptTokens: number, maxNewTokens: number, context: number): number {
  return Math.max(0, Math.min(maxNewTokens, context - promptTokens));
}
