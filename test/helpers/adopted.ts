import { createServer, type Socket } from 'node:net';
import { adoptWithReadHook } from '../../proxy/reads/adopt-socket.js';
import { ReadHook } from '../../proxy/reads/read-hook.js';
import { connectTo, listen, nextConnection, type Resources } from './sockets.js';

/** A connected client and the end a server accepted, adopted to read through a ReadHook (onread); all tracked by `res`. */
export async function adoptedPair(res: Resources): Promise<{ client: Socket; source: Socket; hook: ReadHook }> {
  const server = res.server(createServer({ pauseOnConnect: true }));
  const port = await listen(server);
  const accepted = nextConnection(server);
  const client = res.socket(await connectTo(port));
  const hook = new ReadHook();
  const source = res.socket(adoptWithReadHook(await accepted, hook)!);
  return { client, source, hook };
}
