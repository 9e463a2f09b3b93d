// Datasets: readers for ORZ JSON / eval JSON / JSONL, and prompt templates.
export {
  DataError,
  readDataset,
  readJsonl,
  readOrzEvalJson,
  readOrzTrainJson,
  type ProblemRecord,
} from './readers.ts';
export { applyTemplate, defaultTemplateFor, MINI_TEMPLATE, ORZ_TEMPLATE, resolveTemplate, type PromptTemplate } from './template.ts';
export {
  arithCorpus,
  arithProblems,
  generateArithProblem,
  writeSolution,
  ARITH_MAX_VALUE,
  ARITH_MAX_OPERAND,
  arithFacts,
  arithDrills,
  type ArithProblem,
  type ArithStep,
  type CorpusMix,
  type SolutionStyle,
} from './arith.ts';
