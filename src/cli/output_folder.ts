/**
 * The output folder of a run, claimed for the run's length: a lock file holding the owner's PID
 * (and an OS lock on it, which the OS drops when the owner dies, even by SIGKILL), so a second run
 * into the same folder is refused instead of mixing its files with the first's; what an earlier
 * run left there under this tool's output names, and the temporary files of an interrupted write,
 * are removed first. The lock goes when the run ends, so a finished folder holds none of our
 * temporary or hidden files.
 *
 * @module
 */

import { join } from "node:path";
import { isOutputName, isOutputTemporary } from "../io/output_names.ts";
import { FaultError, UsageError } from "./usage_error.ts";

/** The lock file inside the output folder while a run writes there. */
export const LOCK_FILE_NAME = ".self-attention-profiler.lock";

/** What claiming a folder removed. */
export interface Leftovers {
  /** files of an earlier run and temporary files, by name */
  files: string[];
  /** the PID in a lock whose owner is gone, or null when there was none */
  staleLockPid: number | null;
}

async function existingFolder(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

function pidIn(text: string): number | null {
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
}

/** Take the lock at `lockPath`, or throw a UsageError naming its owner. */
async function takeLock(lockPath: string, given: string, flag: string) {
  // retried when the owner removed the file between our open and our lock
  for (let attempt = 0;; attempt++) {
    const file = await Deno.open(lockPath, { read: true, write: true, create: true });
    const previous = await Deno.readTextFile(lockPath).catch(() => "");
    if (!await file.tryLock(true)) {
      file.close();
      const owner = pidIn(previous);
      throw new UsageError(
        `--${flag} ${JSON.stringify(given)}: another run (PID ${owner ?? "unknown"}) is ` +
          "writing into this folder; wait for it to end or choose another folder",
      );
    }
    const ours = await file.stat();
    const current = await Deno.stat(lockPath).catch(() => null);
    if (current !== null && (ours.ino === null || ours.ino === current.ino)) {
      await file.truncate(0);
      await file.write(new TextEncoder().encode(`${Deno.pid}\n`));
      return { file, staleLockPid: pidIn(previous) };
    }
    file.close();
    if (attempt >= 3) throw new Error(`${lockPath}: the lock file keeps being replaced`);
  }
}

/** A claimed output folder. */
export class OutputFolder {
  readonly #lockPath: string;
  #lock: Deno.FsFile | null;
  readonly #created: boolean;

  private constructor(readonly path: string, lock: Deno.FsFile, created: boolean) {
    this.#lockPath = join(path, LOCK_FILE_NAME);
    this.#lock = lock;
    this.#created = created;
  }

  /**
   * Create the folder if needed, lock it (a UsageError when another live run holds it), then
   * remove the files an earlier run left under our output names and stale temporary files.
   * `flag` names the flag in messages.
   */
  static async claim(
    path: string,
    flag = "out",
  ): Promise<{ folder: OutputFolder; leftovers: Leftovers }> {
    try {
      return await OutputFolder.#claim(path, flag);
    } catch (error) {
      if (error instanceof UsageError) throw error;
      // a full disk, a folder removed or made read-only since it was checked
      const reason = error instanceof Error ? error.message : String(error);
      throw new FaultError(
        `--${flag} ${JSON.stringify(path)}: cannot prepare the folder: ${reason}`,
      );
    }
  }

  static async #claim(
    path: string,
    flag: string,
  ): Promise<{ folder: OutputFolder; leftovers: Leftovers }> {
    const created = !await existingFolder(path);
    await Deno.mkdir(path, { recursive: true });
    const { file, staleLockPid } = await takeLock(join(path, LOCK_FILE_NAME), path, flag);
    const folder = new OutputFolder(path, file, created);
    const files: string[] = [];
    for await (const entry of Deno.readDir(path)) {
      if (!entry.isFile || !(isOutputName(entry.name) || isOutputTemporary(entry.name))) continue;
      await Deno.remove(join(path, entry.name));
      files.push(entry.name);
    }
    return { folder, leftovers: { files: files.sort(), staleLockPid } };
  }

  /**
   * Remove the lock; and the folder, when this run created it and left nothing in it. Synchronous,
   * so it can run in an `unload` listener; a second call does nothing.
   */
  releaseSync(): void {
    if (this.#lock === null) return;
    try {
      // removed while still locked: a run waiting on this file finds it replaced and retries
      Deno.removeSync(this.#lockPath);
      if (this.#created && [...Deno.readDirSync(this.path)].length === 0) {
        Deno.removeSync(this.path);
      }
    } catch {
      // the folder was moved or removed meanwhile: nothing of ours is left to remove
    } finally {
      this.#lock.close();
      this.#lock = null;
    }
  }
}

/**
 * One line saying what claiming removed, or null when nothing.
 *
 * @example
 * ```ts
 * const line = describeLeftovers("results", { files: ["tensors_n10.npz"], staleLockPid: 7 });
 * if (line !== "removed from results: tensors_n10.npz (an earlier run's), a stale lock (PID 7)") {
 *   throw new Error(line ?? "null");
 * }
 * ```
 */
export function describeLeftovers(path: string, leftovers: Leftovers): string | null {
  const temporary = leftovers.files.filter(isOutputTemporary);
  const earlier = leftovers.files.filter((name) => !isOutputTemporary(name));
  const list = (names: string[]) =>
    names.length <= 4
      ? names.join(", ")
      : `${names.slice(0, 3).join(", ")} and ${names.length - 3} more`;
  const parts = [
    earlier.length > 0 ? `${list(earlier)} (an earlier run's)` : "",
    temporary.length > 0 ? `${list(temporary)} (temporary, of an interrupted write)` : "",
    leftovers.staleLockPid !== null ? `a stale lock (PID ${leftovers.staleLockPid})` : "",
  ].filter((part) => part !== "");
  return parts.length === 0 ? null : `removed from ${path}: ${parts.join(", ")}`;
}
