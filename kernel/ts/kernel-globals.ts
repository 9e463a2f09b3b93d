// Types of the globals the kernel defines for cells (kernel/exec/globals.ts installs them). A string, not a
// .d.ts file in the repository: the project's own tsconfig must not see notebook-only globals.

export const KERNEL_GLOBALS_FILE_NAME = '__orz_kernel_globals__.d.ts';

export const KERNEL_GLOBALS_DTS = `
/** A Jupyter mime bundle: mime type -> data, e.g. { 'text/html': '<b>hi</b>', 'text/plain': 'hi' }. */
type JupyterMimeBundle = { [mimeType: string]: unknown };

interface JupyterDisplayOptions {
  /** Display id: a later display(x, { id, update: true }) replaces this output in place. */
  id?: string;
  /** Replace the output shown earlier under \`id\` (update_display_data) instead of adding one. */
  update?: boolean;
  /** The value is already a mime bundle ({ 'text/html': ..., 'text/plain': ... }). */
  raw?: boolean;
  /** Metadata sent with the display_data message. */
  metadata?: Record<string, unknown>;
}

/** A Jupyter protocol message as handed to comm handlers. */
interface JupyterMessage {
  header: { msg_id: string; msg_type: string; session: string; username: string; date: string; version: string };
  parent_header: Record<string, unknown>;
  metadata: Record<string, unknown>;
  content: Record<string, unknown>;
  buffers?: unknown[];
}

/** One end of a comm: a message channel between this kernel and front-end code (widgets and the like). */
interface JupyterComm {
  readonly id: string;
  readonly target: string;
  readonly closed: boolean;
  /** Sends comm_msg with \`data\` to the front end. */
  send(data?: unknown, metadata?: Record<string, unknown>): void;
  /** Closes the comm (comm_close). */
  close(data?: unknown): void;
  /** Called for every comm_msg from the front end. */
  onMsg(handler: (data: unknown, msg: JupyterMessage) => void | Promise<void>): void;
  /** Called when the front end closes the comm. */
  onClose(handler: (data: unknown, msg: JupyterMessage) => void | Promise<void>): void;
}

interface JupyterCommApi {
  /** Accepts comm_open from the front end for \`target\`. */
  register(target: string, handler: (comm: JupyterComm, data: unknown, msg: JupyterMessage) => void | Promise<void>): void;
  unregister(target: string): void;
  /** \`new Jupyter.comm.Comm(target, data?)\` opens a comm from the kernel side. */
  Comm: new (target: string, data?: unknown, metadata?: Record<string, unknown>) => JupyterComm;
  /** Open comms by id. */
  readonly comms: ReadonlyMap<string, JupyterComm>;
}

/**
 * Shows a value as a Jupyter output (display_data): objects with a [Symbol.for('Jupyter.display')]() method,
 * plotly figures, tables, tensors, or anything as text. With { id } the output can later be replaced in place
 * by display(newValue, { id, update: true }).
 */
declare function display(value: unknown, opts?: JupyterDisplayOptions): void | Promise<void>;

/** Clears the output of the current cell; with wait = true, only when the next output arrives (no flicker). */
declare function clearOutput(wait?: boolean): void;

/**
 * Asks the front end for a line of text and waits for it (like Python's input()). Only when the front end
 * allows stdin for this execution.
 */
declare function input(prompt?: string, opts?: { password?: boolean }): string;

/** The kernel's API: display functions, comms, and the key objects use to give their own mime bundle. */
declare const Jupyter: {
  display(value: unknown, opts?: JupyterDisplayOptions): void | Promise<void>;
  clearOutput(wait?: boolean): void;
  input(prompt?: string, opts?: { password?: boolean }): string;
  comm: JupyterCommApi;
  /** Symbol.for('Jupyter.display'): obj[Jupyter.displaySymbol]() returns a mime bundle for obj. */
  displaySymbol: symbol;
};
`;
