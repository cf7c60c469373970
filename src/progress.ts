/**
 * Progress of a long profile. On a terminal: one updating line (series, n, run k of N, elapsed,
 * ETA). In a pipe or CI: a plain line per point. Deno's timers stall while a GPU promise is
 * pending, so progress is advanced by the profile between runs, never by a timer.
 *
 * @module
 */

/** What the profile tells about its progress. */
export interface ProgressReporter {
  /** a point starts: `runs` timed runs after `warmup` untimed ones */
  beginPoint(series: string, seqLen: number, warmup: number, runs: number): void;
  /** timed run `completed` of the current point has finished */
  runDone(completed: number): void;
  /** the current point has ended (ok, skipped or failed) with a short outcome */
  endPoint(outcome: string): void;
  /** a warning the user should see even in a pipe */
  warn(message: string): void;
}

/** A reporter that says nothing but warnings (`--quiet` keeps warnings on stderr). */
export class QuietProgress implements ProgressReporter {
  beginPoint(): void {}
  runDone(): void {}
  endPoint(): void {}
  warn(message: string): void {
    console.error(`warning: ${message}`);
  }
}

function formatSeconds(ms: number): string {
  const seconds = Math.round(ms / 1000);
  return seconds >= 60
    ? `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, "0")}s`
    : `${seconds}s`;
}

/** Progress on stderr: an updating line on a terminal, plain lines otherwise. */
export class ConsoleProgress implements ProgressReporter {
  readonly #interactive: boolean;
  readonly #startMs = performance.now();
  readonly #encoder = new TextEncoder();
  #label = "";
  #runs = 0;
  /** when the last run (or the point) ended: the last run's duration predicts the next ones */
  #lastMarkMs = 0;

  constructor(interactive = Deno.stderr.isTerminal()) {
    this.#interactive = interactive;
  }

  #write(text: string): void {
    Deno.stderr.writeSync(this.#encoder.encode(text));
  }

  beginPoint(series: string, seqLen: number, warmup: number, runs: number): void {
    this.#label = `${series} n=${seqLen}`;
    this.#runs = runs;
    this.#lastMarkMs = performance.now();
    const text = `${this.#label}: ${warmup} warm-up + ${runs} runs`;
    if (this.#interactive) this.#write(`\r\x1b[2K${text} · elapsed ${this.#elapsed()}`);
    else this.#write(`${text}\n`);
  }

  runDone(completed: number): void {
    if (!this.#interactive) return;
    const nowMs = performance.now();
    const runMs = nowMs - this.#lastMarkMs;
    this.#lastMarkMs = nowMs;
    // the first run's interval includes the warm-up: no estimate from it
    const eta = completed >= 2 ? ` · ETA ${formatSeconds(runMs * (this.#runs - completed))}` : "";
    this.#write(
      `\r\x1b[2K${this.#label}: run ${completed} of ${this.#runs} · elapsed ${this.#elapsed()}${eta}`,
    );
  }

  endPoint(outcome: string): void {
    const text = `${this.#label}: ${outcome}`;
    this.#write(this.#interactive ? `\r\x1b[2K${text}\n` : `${text}\n`);
  }

  warn(message: string): void {
    this.#write(`${this.#interactive ? "\r\x1b[2K" : ""}warning: ${message}\n`);
  }

  #elapsed(): string {
    return formatSeconds(performance.now() - this.#startMs);
  }
}
