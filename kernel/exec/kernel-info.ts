// kernel_info_reply content: TypeScript as the language, orz as the implementation, and a banner naming the
// orz version and the tensor backend (chosen lazily: the first cell that uses tensors selects it).

import { createRequire } from 'node:module';
import { PROTOCOL_VERSION } from '../protocol/message.ts';
import { ORZ_VERSION } from './version.ts';

// The version from package.json, not from the compiler: the kernel answers kernel_info before it loads
// TypeScript (importing it takes a second or two).
const TYPESCRIPT_VERSION = (createRequire(import.meta.url)('typescript/package.json') as { version: string }).version;

export function kernelInfoContent(backend: string | null): Record<string, unknown> {
  const backendText = backend ?? `not chosen yet (first tensor use picks one; ORZ_BACKEND=${process.env['ORZ_BACKEND'] || 'auto'})`;
  return {
    status: 'ok',
    protocol_version: PROTOCOL_VERSION,
    implementation: 'orz',
    implementation_version: ORZ_VERSION,
    language_info: {
      name: 'typescript',
      version: TYPESCRIPT_VERSION,
      mimetype: 'text/typescript',
      file_extension: '.ts',
      codemirror_mode: { name: 'typescript' },
      pygments_lexer: 'typescript',
    },
    banner: `orz ${ORZ_VERSION} (TypeScript ${TYPESCRIPT_VERSION}, Node ${process.version})\ntensor backend: ${backendText}`,
    debugger: false,
  };
}

/**
 * The tensor backend if one is active, without choosing one (that would load tfjs and native code at startup):
 * tfjs-core keeps its engine on the global object, so a cell that used tensors leaves it there.
 */
export function currentBackend(): string | null {
  const engine = (globalThis as { _tfengine?: { backendName?: string | null } })._tfengine;
  return engine?.backendName ?? null;
}
