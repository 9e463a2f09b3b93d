// The orz version, from the package's own package.json (kernel banner, kernel.json metadata).
import { readFileSync } from 'node:fs';

export const ORZ_VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
