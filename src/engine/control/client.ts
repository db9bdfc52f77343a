/**
 * The control-socket client (conntrackd's do_local_request, shared/spec/conntrackd.md §5.1):
 * connect, send the request code, pass every chunk of the reply on until the server closes.
 * Used by `ctsyncd <cmd>` and by op-mode; it works against a real conntrackd as well.
 */
import { connect } from 'node:net';
import { CtsyncError } from '../../common/errors.js';
import { encodeRequest } from './requests.js';

/** conntrackd's sentence when the socket does not answer. */
export const NOT_RUNNING = "can't connect: is conntrackd running? appropriate permissions?";

/**
 * Send `code` to the socket at `path`; `onChunk` gets the reply as it arrives. Resolves when
 * the server closes; rejects with ENGINE_NOT_RUNNING if connecting or sending fails.
 */
export function request(path: string, code: number, onChunk: (chunk: Buffer) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let sent = false;
    const socket = connect({ path });
    socket.once('connect', () => {
      socket.write(encodeRequest(code), () => (sent = true));
    });
    socket.on('data', onChunk);
    socket.once('error', (e) => {
      socket.destroy();
      // After the request went out, a reset is the end of the reply (a KILL, a dying daemon).
      if (sent) resolve();
      else reject(new CtsyncError('ENGINE_NOT_RUNNING', NOT_RUNNING, { cause: e }));
    });
    socket.once('close', () => resolve());
  });
}

/** The whole reply as text (op-mode, tests). */
export async function requestText(path: string, code: number): Promise<string> {
  const chunks: Buffer[] = [];
  await request(path, code, (c) => chunks.push(c));
  return Buffer.concat(chunks).toString('utf8');
}
