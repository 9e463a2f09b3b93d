// Tokenizers: Hugging Face tokenizer.json (byte-level BPE) loading, saving and training.
export { loadTokenizer, saveTokenizer, tokenizerFromJSON, type Tokenizer } from './tokenizer.ts';
export { trainByteLevelBPE, TRAIN_SPLIT_PATTERN, type TrainOptions } from './train.ts';
