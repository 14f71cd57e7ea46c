// Ctrl-C and SIGTERM cancel the running engine run gracefully instead of killing node:
// the pulumi process gets SIGINT, finishes in-flight AWS calls, records them in the
// state and shuts its provider down (killing node left provider processes behind).
import { constants } from "node:os";
import { descendantsOf } from "./procfs";

const controller = new AbortController();
let received: NodeJS.Signals | undefined;
let forward: ((signal: NodeJS.Signals) => void) | undefined;

/** Aborted on the first SIGINT/SIGTERM/SIGHUP: engine runs started with it are cancelled. */
export const engineSignal: AbortSignal = controller.signal;

export function installInterruptHandlers(): void {
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => {
      if (forward) return forward(signal);
      if (received) {
        // A second signal: stop waiting, and take the engine runs down with us (their
        // providers follow through the watchdog); the stale lock is broken on next use.
        killDescendants();
        process.exit(exitCodeForSignal(signal));
      }
      received = signal;
      process.stderr.write(`awslease: ${signal}: cancelling (waiting for in-flight AWS calls to finish; again to quit)\n`);
      controller.abort();
    });
  }
}

/** Cancels every engine run started with engineSignal (the server's shutdown, after its grace period). */
export function cancelEngineRuns(): void {
  controller.abort();
}

/** While a child runs (`exec`), or the server drains, signals go to the handler instead of cancelling anything. */
export function forwardSignalsTo(handler: ((signal: NodeJS.Signals) => void) | undefined): void {
  forward = handler;
}

/** The signal that interrupted this process, if any. */
export function interruption(): NodeJS.Signals | undefined {
  return received;
}

/** Shell convention: 128 + the signal's number (130 for SIGINT, 143 for SIGTERM). */
export function exitCodeForSignal(signal: NodeJS.Signals): number {
  return 128 + ((constants.signals as Record<string, number>)[signal] ?? 1);
}

/** SIGKILLs every process below this one (Linux /proc; elsewhere nothing). */
export function killDescendants(root: number = process.pid): void {
  for (const pid of descendantsOf(root)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* already gone */
    }
  }
}
