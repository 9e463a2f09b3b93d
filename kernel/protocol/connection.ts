// The connection file Jupyter writes for a kernel: where to bind the five sockets and the signing key.

import { readFileSync } from 'node:fs';

export interface ConnectionInfo {
  transport: 'tcp' | 'ipc';
  ip: string;
  shell_port: number;
  control_port: number;
  stdin_port: number;
  iopub_port: number;
  hb_port: number;
  key: string;
  signature_scheme: string;
  kernel_name?: string;
}

export type ChannelName = 'shell' | 'control' | 'stdin' | 'iopub' | 'hb';

const PORT_FIELDS = ['shell_port', 'control_port', 'stdin_port', 'iopub_port', 'hb_port'] as const;

/** Reads and checks a connection file; errors name the file and the field. */
export function readConnectionFile(path: string): ConnectionInfo {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`connection file ${path}: ${(e as Error).message}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`connection file ${path}: expected a JSON object`);
  const o = raw as Record<string, unknown>;
  const transport = o['transport'] ?? 'tcp';
  if (transport !== 'tcp' && transport !== 'ipc') throw new Error(`connection file ${path}: transport must be "tcp" or "ipc", got ${JSON.stringify(transport)}`);
  const ip = o['ip'] ?? '127.0.0.1';
  if (typeof ip !== 'string' || ip === '') throw new Error(`connection file ${path}: ip must be a non-empty string`);
  for (const f of PORT_FIELDS) {
    const p = o[f];
    if (!(typeof p === 'number' && Number.isInteger(p) && p > 0 && p < 65536)) {
      throw new Error(`connection file ${path}: ${f} must be a port number (1-65535), got ${JSON.stringify(p)}`);
    }
  }
  const key = o['key'] ?? '';
  if (typeof key !== 'string') throw new Error(`connection file ${path}: key must be a string`);
  const scheme = o['signature_scheme'] ?? 'hmac-sha256';
  if (typeof scheme !== 'string') throw new Error(`connection file ${path}: signature_scheme must be a string`);
  return {
    transport, ip,
    shell_port: o['shell_port'] as number, control_port: o['control_port'] as number, stdin_port: o['stdin_port'] as number,
    iopub_port: o['iopub_port'] as number, hb_port: o['hb_port'] as number,
    key, signature_scheme: scheme,
    ...(typeof o['kernel_name'] === 'string' ? { kernel_name: o['kernel_name'] } : {}),
  };
}

/** The zeromq endpoint of one channel ("tcp://127.0.0.1:5555" or "ipc://<ip>-<port>" as jupyter_client names them). */
export function endpoint(info: ConnectionInfo, channel: ChannelName): string {
  const port = info[`${channel}_port`];
  return info.transport === 'tcp' ? `tcp://${info.ip}:${port}` : `ipc://${info.ip}-${port}`;
}
