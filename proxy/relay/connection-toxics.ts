import type { Direction, Stage } from '../pipeline/index.js';
import { toxicStage, ToxicSpecError, type ToxicSpec } from '../stages/toxics/index.js';
import type { Relay } from './relay.js';

interface Applied {
  spec: ToxicSpec;
  /** Null when the toxicity draw left this connection alone, or the toxic has no effect. */
  stage: Stage | null;
  direction: Direction;
}

/**
 * The toxics of one relayed connection: given a proxy's list each time it changes, it adds,
 * replaces and removes stages in the connection's two directions so they match. Each toxic is
 * drawn once against its toxicity when it arrives (and again when it is updated, as toxiproxy
 * re-runs an updated toxic); stages sit next to the sink in the order the toxics were added.
 */
export class ConnectionToxics {
  private readonly applied = new Map<string, Applied>();

  constructor(
    private readonly relay: Relay,
    private readonly random: () => number = Math.random,
  ) {}

  /** Makes the connection's stages match `specs`. */
  apply(specs: readonly ToxicSpec[]): void {
    for (const [name, a] of this.applied) {
      if (specs.some((s) => s.name === name)) continue;
      if (a.stage) a.direction.removeStage(a.stage);
      this.applied.delete(name);
    }
    specs.forEach((spec, i) => {
      const before = this.applied.get(spec.name);
      if (before && sameSpec(before.spec, spec)) return;
      const direction = spec.stream === 'upstream' ? this.relay.clientToTarget : this.relay.targetToClient;
      const stage = this.random() < spec.toxicity ? this.stageFor(spec, before?.stage ?? undefined) : null;
      if (before?.stage && stage && before.direction === direction) direction.replaceStage(before.stage, stage);
      else {
        // An update that draws the toxic out leaves, as toxiproxy's noop in its place, without cleanup.
        if (before?.stage) before.direction.removeStage(before.stage, 'updated');
        if (stage) direction.addStage(stage, this.stageAfter(specs, i, direction));
      }
      this.applied.set(spec.name, { spec, stage, direction });
    });
  }

  private stageFor(spec: ToxicSpec, previous: Stage | undefined): Stage | null {
    const env = { random: this.random, onMessageDropped: () => this.relay.countToxicDrop() };
    return toxicStage(spec, env, previous);
  }

  // The stage of the first toxic after the i-th on the same direction: a stage added now goes before it.
  private stageAfter(specs: readonly ToxicSpec[], i: number, direction: Direction): Stage | undefined {
    for (const later of specs.slice(i + 1)) {
      const a = this.applied.get(later.name);
      if (a?.stage && a.direction === direction) return a.stage;
    }
    return undefined;
  }
}

/**
 * Refuses toxics a relay cannot carry: `drop` counts whole messages, so it needs message mode, which
 * frames the client-to-target direction only.
 */
export function checkToxicsFit(specs: readonly ToxicSpec[], messageMode: boolean): void {
  for (const spec of specs) {
    if (spec.type !== 'drop') continue;
    if (!messageMode) throw new ToxicSpecError(`toxic ${spec.name}: drop needs message mode (messages)`, 'body');
    if (spec.stream !== 'upstream') throw new ToxicSpecError(`toxic ${spec.name}: drop works on the upstream stream (messages are framed client to target)`, 'body');
  }
}

/** The toxics of `specs` a relay can carry (checkToxicsFit's rule), the others left out. */
export function toxicsThatFit(specs: readonly ToxicSpec[], messageMode: boolean): ToxicSpec[] {
  return specs.filter((spec) => {
    try {
      checkToxicsFit([spec], messageMode);
      return true;
    } catch {
      return false;
    }
  });
}

function sameSpec(a: ToxicSpec, b: ToxicSpec): boolean {
  return a.type === b.type && a.stream === b.stream && a.toxicity === b.toxicity && JSON.stringify(a.attributes) === JSON.stringify(b.attributes);
}
