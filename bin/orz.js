#!/usr/bin/env node
// The `orz` command: runs the TypeScript CLI through tsx (no build step).
import { register } from 'tsx/esm/api';

register();
await import('../sdk/cli/main.ts');
