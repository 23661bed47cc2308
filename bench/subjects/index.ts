/**
 * The things measured ("subjects"): each one, started fresh for every measurement, listens on
 * loopback and forwards to the case's server.
 *
 *   load tool --> subject (direct | pipe | floor | haproxy | socat | sluice | sluice-tunnel | sluice-serve) --> case server
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Tools } from '../tools.js';
import { haproxy } from './haproxy.js';
import { floor, pipe, sluiceRelay, sluiceServe, sluiceTunnel } from './node-relays.js';
import { socat } from './socat.js';
import type { SluiceCommand, SluiceVariant, Subject } from './types.js';

export type { Address, RunningSubject, SluiceCommand, SluiceVariant, Subject } from './types.js';

/** The variant added by default: sluice with `--quiet` (no access log). */
export const QUIET_VARIANT = 'quiet';

export const ALL_SUBJECTS = ['direct', 'pipe', 'floor', 'haproxy', 'socat', 'sluice', 'sluice-tunnel', 'sluice-serve'] as const;

/** No proxy: the load tool talks to the server. The ceiling every relay is under. */
function direct(): Subject {
  return {
    name: 'direct',
    describe: 'no proxy: the load tool talks to the server',
    unavailable: null,
    start: async (target) => ({ name: 'direct', address: target, pids: [], exited: () => null, stop: async () => {} }),
  };
}

export interface SubjectOptions {
  names: string[];
  distDir: string;
  sluice: SluiceCommand;
  /** True when the sluice command was given explicitly, so its existence is not checked. */
  sluiceCustom: boolean;
  variants: SluiceVariant[];
}

/** Builds the subjects that were asked for, in the order asked; variants follow `sluice`. */
export function buildSubjects(options: SubjectOptions, tools: Tools): { subjects: Subject[]; cleanup: () => void } {
  let tmp: string | null = null;
  const tmpDir = (): string => (tmp ??= mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-')));
  const cli = path.join(options.distDir, 'proxy', 'cli.js');
  const sluiceMissing =
    options.sluiceCustom || existsSync(cli)
      ? null
      : `${path.relative(process.cwd(), cli)} does not exist yet (relay not merged); use --sluice-cmd to point at one`;

  const subjects: Subject[] = [];
  for (const name of options.names) {
    switch (name) {
      case 'direct': subjects.push(direct()); break;
      case 'pipe': subjects.push(pipe(options.distDir)); break;
      case 'floor': subjects.push(floor(options.distDir)); break;
      case 'haproxy': subjects.push(haproxy(tools, tmpDir)); break;
      case 'socat': subjects.push(socat(tools)); break;
      case 'sluice':
        subjects.push(sluiceRelay('sluice', options.sluice, [], sluiceMissing));
        for (const v of options.variants) subjects.push(sluiceRelay(`sluice:${v.name}`, options.sluice, v.extraArgs, sluiceMissing));
        // The access log is on by default; where it costs (churn) the same relay without it is
        // measured too, in the same rounds.
        if (!options.variants.some((v) => v.name === QUIET_VARIANT)) {
          subjects.push({ ...sluiceRelay(`sluice:${QUIET_VARIANT}`, options.sluice, ['--quiet'], sluiceMissing), onlyWhereAccessLogMatters: true });
        }
        break;
      case 'sluice-tunnel': subjects.push(sluiceTunnel(options.sluice, sluiceMissing)); break;
      case 'sluice-serve': subjects.push(sluiceServe(options.sluice, tmpDir, sluiceMissing)); break;
      default: throw new Error(`unknown subject "${name}" (known: ${ALL_SUBJECTS.join(', ')})`);
    }
  }
  return {
    subjects,
    cleanup: () => {
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    },
  };
}
