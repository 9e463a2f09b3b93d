// Response budgets when prompts are long: a record gets min(maxNewTokens, context - its prompt tokens)
// new tokens. The engine gives a whole batch the room its longest prompt leaves, so records are
// generated in groups of equal budget: a prompt near the context limit is generated apart from the
// short ones instead of cutting their responses short.

/** New tokens a prompt of `promptTokens` gets under the context (0: no room at all). */
export function responseBudget(promptTokens: number, maxNewTokens: number, context: number): number {
  return Math.max(0, Math.min(maxNewTokens, context - promptTokens));
}

/**
 * The prompts (by position) in groups that share a response budget; every prompt must leave room for one
 * new token. Groups are in ascending budget (the full budget last), members in their order.
 */
export function budgetGroups(promptTokens: number[], maxNewTokens: number, context: number): { budget: number; members: number[] }[] {
  const groups = new Map<number, number[]>();
  promptTokens.forEach((tokens, i) => {
    const budget = responseBudget(tokens, maxNewTokens, context);
    if (budget < 1) throw new RangeError(`budgetGroups: prompt ${i} has ${tokens} tokens, no room under a context of ${context}`);
    const members = groups.get(budget);
    if (members) members.push(i);
    else groups.set(budget, [i]);
  });
  return [...groups].sort(([a], [b]) => a - b).map(([budget, members]) => ({ budget, members }));
}
