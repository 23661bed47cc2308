/** The bench's side of a built-in case server: starts it and asks it questions. */
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { forkTracked, stderrTail, stopProcess } from '../../scenarios/harness/processes.js';
import type { ServerKind, ServerReply, ServerRequest } from './protocol.js';

type Question = ServerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

export class ServerHandle {
  private nextId = 1;
  private readonly pending = new Map<number, (reply: ServerReply) => void>();

  private constructor(private readonly child: ChildProcess, readonly port: number) {
    child.on('message', (reply: ServerReply) => {
      const resolve = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      resolve?.(reply);
    });
  }

  static async start(kind: ServerKind): Promise<ServerHandle> {
    const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'server.js');
    const child = forkTracked(script, [kind]);
    const port = await new Promise<number>((resolve, reject) => {
      child.once('message', (reply: ServerReply) => resolve(reply.port!));
      child.once('exit', (code) => reject(new Error(`${kind} server exited ${code}: ${stderrTail(child)}`)));
    });
    return new ServerHandle(child, port);
  }

  ask(question: Question): Promise<ServerReply> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, resolve);
      this.child.send({ ...question, id } as ServerRequest, (err) => {
        if (err) {
          this.pending.delete(id);
          reject(err);
        }
      });
    });
  }

  close(): Promise<void> {
    return stopProcess(this.child, 500);
  }
}
