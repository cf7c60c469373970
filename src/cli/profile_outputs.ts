/**
 * The files a running profile writes into its output folder — the data files after every finished
 * point, the tensors of a length, the figures and reports at the end — one write at a time, in order. It keeps
 * the latest results written, so an interrupt can mark them `"interrupted": true` at once, and a
 * failing write (a full disk) becomes one line (a FaultError) that keeps what was written before.
 *
 * @module
 */

import { writeReportFiles, writeResultsFiles } from "../io/results_files.ts";
import { type TensorsDump, writeTensorsFile } from "../io/tensors_file.ts";
import { writeFigures } from "../plot/figures.ts";
import type { ProfileResults } from "../results.ts";
import { FaultError } from "./usage_error.ts";

/** The OS's reason without the operation and temporary path Deno appends. */
function reason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/: \w+ '[^']*'$/, "");
}

/** Writes of one profile into `outDir`, one after another. */
export class ProfileOutputs {
  readonly outDir: string;
  #chain: Promise<unknown> = Promise.resolve();
  #latest: ProfileResults | null = null;

  /** Write into `outDir` (which exists). */
  constructor(outDir: string) {
    this.outDir = outDir;
  }

  #enqueue<T>(what: string, write: () => Promise<T>): Promise<T> {
    const task = this.#chain.then(write).catch((error) => {
      throw new FaultError(
        `cannot write ${what} into ${this.outDir}: ${reason(error)}; ` +
          "the files written before are kept",
      );
    });
    this.#chain = task.catch(() => {});
    return task;
  }

  /** The data files of `results` (JSON, CSV, NPZ); returns their paths. */
  data(results: ProfileResults): Promise<string[]> {
    this.#latest = results;
    return this.#enqueue("the data files", () => writeResultsFiles(results, this.outDir));
  }

  /** `tensors_n<N>.npz` of one length (and configuration); returns its path. */
  tensors(dump: TensorsDump): Promise<string> {
    return this.#enqueue("the tensors", () => writeTensorsFile(dump, this.outDir));
  }

  /** The figures of `results`; returns their paths. */
  figures(results: ProfileResults): Promise<string[]> {
    return this.#enqueue("the figures", () => writeFigures(results, this.outDir));
  }

  /** report.md, report.html and trace.json of `results`; returns their paths. */
  reports(results: ProfileResults): Promise<string[]> {
    return this.#enqueue("the reports", () => writeReportFiles(results, this.outDir));
  }

  /**
   * Write the latest data files again with `"interrupted": true`, unless they say so already or
   * none were written.
   */
  async markInterrupted(): Promise<void> {
    const latest = this.#latest;
    if (latest === null || latest.interrupted) return;
    await this.data({ ...latest, interrupted: true });
  }

  /** Resolves when every write asked for so far has ended. */
  async settled(): Promise<void> {
    await this.#chain;
  }
}
