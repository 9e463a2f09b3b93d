// sdk/engine/onnx: the "onnxruntime" tfjs backend (the cpu backend with hot kernels on ONNX Runtime).
export { OnnxBackend, ONNX_BACKEND, registerOnnxBackend, routedKernelNames } from './backend.ts';
export { cachedSessionCount, intraOpThreads, ortRunCount } from './session.ts';
