// sdk/hub: models by Hugging Face hub id, downloaded into (and read from) the standard HF cache.
export { hubCacheDir, parseHubId, RepoCache, type HubId } from './cache.ts';
export { ensureSnapshot, hubEndpoint, isOffline, modelReference, resolveModelPath, type HubOptions, type Need, type Snapshot } from './resolve.ts';
