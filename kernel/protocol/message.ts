// Building outgoing Jupyter messages: fresh headers (uuid msg_id, the kernel's session id, ISO date,
// protocol version) and replies that point back at their request.

import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import type { JupyterMessage, MessageHeader } from './wire.ts';

export const PROTOCOL_VERSION = '5.3';

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'orz'; // no passwd entry (some containers)
  }
}

/** The identity the kernel signs its messages with: one session id per kernel process. */
export class MessageFactory {
  readonly session = randomUUID();
  readonly username = currentUser();

  header(msgType: string): MessageHeader {
    return {
      msg_id: randomUUID(),
      session: this.session,
      username: this.username,
      date: new Date().toISOString(),
      msg_type: msgType,
      version: PROTOCOL_VERSION,
    };
  }

  /**
   * A message of type `msgType`; `parent` is the request it belongs to (its header becomes parent_header),
   * `identities` the routing prefix (for replies on ROUTER sockets; iopub uses a topic instead).
   */
  make<C>(msgType: string, content: C, opts: {
    parent?: Partial<MessageHeader> | null; identities?: Uint8Array[]; metadata?: Record<string, unknown>; buffers?: Uint8Array[];
  } = {}): JupyterMessage<C> {
    return {
      identities: opts.identities ?? [],
      header: this.header(msgType),
      parent_header: opts.parent ?? {},
      metadata: opts.metadata ?? {},
      content,
      buffers: opts.buffers ?? [],
    };
  }

  /** The reply to `request` ("x_request" -> "x_reply"), routed back to its sender. */
  reply<C>(request: JupyterMessage<unknown>, content: C, metadata?: Record<string, unknown>): JupyterMessage<C> {
    return this.make(replyType(request.header.msg_type), content, {
      parent: request.header, identities: request.identities, ...(metadata ? { metadata } : {}),
    });
  }
}

export function replyType(requestType: string): string {
  return requestType.endsWith('_request') ? `${requestType.slice(0, -'_request'.length)}_reply` : `${requestType}_reply`;
}

/** The iopub topic frame ipykernel uses: "kernel.<id>.<msg_type>" (clients subscribe to everything). */
export function iopubTopic(kernelId: string, msgType: string): Buffer {
  return Buffer.from(`kernel.${kernelId}.${msgType}`);
}
