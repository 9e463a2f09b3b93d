// sdk/model: a Llama/Qwen2-style decoder-only transformer in tfjs, its KV cache, safetensors I/O
// and Hugging Face checkpoint directories.

export { parseModelConfig, type ModelConfig, type ResolvedModelConfig, type HiddenAct } from './config.ts';
export { TransformerLM, type HiddenOptions } from './transformer.ts';
export { KVCache } from './kv-cache.ts';
export { readSafetensors, writeSafetensors, type SafeTensor, type TensorData, type TensorToWrite, type WritableDtype } from './safetensors.ts';
export { saveModel, loadModel } from './checkpoint.ts';
