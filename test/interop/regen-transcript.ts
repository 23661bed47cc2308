// Regenerates the golden yamux transcript:
//   npm run build && node dist/test/interop/regen-transcript.js
// Builds the Go peers, starts yamux-echo-server on a loopback port, runs the capture program
// (a recording TCP relay plus a scripted yamux client) against it, then adds the frame list
// decoded by the independent decoder in yamux-frames.ts and writes
//   test/fixtures/yamux-go-transcript.json  (raw chunks per direction, hex, plus `frames`)
//   test/fixtures/yamux-go-transcript.md    (the same frames as a readable table)

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildGoPeers, goPeersUnavailableReason, repoRoot, startEchoServer } from '../../scenarios/harness/go-peers.js';
import { describeTranscript, transcriptFrames, type Transcript } from './yamux-frames.js';

const execFileP = promisify(execFile);

async function yamuxVersion(): Promise<string> {
  try {
    const { stdout } = await execFileP('dpkg-query', ['-W', '-f=${Version}', 'golang-github-hashicorp-yamux-dev']);
    return `${stdout.trim()} (Debian golang-github-hashicorp-yamux-dev)`;
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  const peers = await buildGoPeers();
  if (!peers) throw new Error(`cannot regenerate: ${goPeersUnavailableReason()}`);
  const root = repoRoot();
  const tmp = await mkdtemp(join(tmpdir(), 'sluice-transcript-'));
  const raw = join(tmp, 'transcript.json');
  const server = await startEchoServer(peers.echoServer);
  try {
    await execFileP(peers.capture, [`-target=${server.address}`, `-out=${raw}`, `-yamux-version=${await yamuxVersion()}`], {
      timeout: 60_000,
    });
  } finally {
    await server.stop();
  }

  const t = JSON.parse(await readFile(raw, 'utf8')) as Transcript;
  await rm(tmp, { recursive: true, force: true });
  // Key order: metadata, the decoded frame list, then the (large) raw chunks.
  const { chunks, ...meta } = t;
  const out: Transcript = {
    ...meta,
    decoder: 'frames: decoded by test/interop/yamux-frames.ts (independent of sluice\'s codec), in relay order',
    frames: transcriptFrames(t),
    chunks,
  };
  const fixtures = join(root, 'test/fixtures');
  await writeFile(join(fixtures, 'yamux-go-transcript.json'), JSON.stringify(out, null, 2) + '\n');
  await writeFile(join(fixtures, 'yamux-go-transcript.md'), describeTranscript(out));
  console.log(
    `wrote test/fixtures/yamux-go-transcript.{json,md}: ${out.frames!.length} frames, ` +
      `c2s ${t.directions.c2s.bytes} B, s2c ${t.directions.s2c.bytes} B, ${chunks.length} chunks`,
  );
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
