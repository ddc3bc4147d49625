/**
 * Tests of the tracefs trigger need root and a kernel with tracefs. Elsewhere they skip
 * with the reason, unless PORTWATCH_REQUIRE_TRACEFS=1 (CI runs as root), when they fail.
 */
import { isRoot } from '../../src/triggers/tracefs-instance.js';
import { tracefsTriggerUnavailableReason } from '../../src/triggers/tracefs.js';

export function tracefsSkipReason(): string | null {
  if (!isRoot()) return 'the tracefs trigger needs root';
  return tracefsTriggerUnavailableReason();
}

/** Call first in a test: skips it (or fails under PORTWATCH_REQUIRE_TRACEFS=1) when tracefs cannot work here. */
export function requireTracefs(ctx: { skip: (note?: string) => void; task: { name: string } }): void {
  const reason = tracefsSkipReason();
  if (reason === null) return;
  if (process.env.PORTWATCH_REQUIRE_TRACEFS === '1') throw new Error(`${reason} (and PORTWATCH_REQUIRE_TRACEFS=1)`);
  console.warn(`skipped "${ctx.task.name}": ${reason}; set PORTWATCH_REQUIRE_TRACEFS=1 to make this a failure`);
  ctx.skip(reason);
}
