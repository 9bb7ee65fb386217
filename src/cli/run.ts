/**
 * run: how a client command reports its exit code to main.ts. A command's
 * action calls finish(code); main.ts exits with it once parsing is done, so an
 * open gRPC channel or timer never keeps a finished command alive. (The `node`
 * command never calls finish: it keeps running.)
 */
let exitCode: number | null = null;

/** finish records the exit code of the command that just ran. */
export function finish(code: number): void {
  exitCode = code;
}

/** finishedCode is the recorded exit code, or null when the command keeps running (e.g. `node`). */
export function finishedCode(): number | null {
  return exitCode;
}
