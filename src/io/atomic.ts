/**
 * Atomic file writes: write a temporary file beside the target, then rename it over the target, so
 * a reader (or an interrupted run) never sees a half-written file.
 *
 * @module
 */

/** The temporary file of an atomic write of `<name>`: `<name>.<pid>.<8 hex digits>.tmp`. */
export const TEMPORARY_NAME: RegExp = /^(.+)\.\d+\.[0-9a-f]{8}\.tmp$/;

function temporaryPathFor(path: string): string {
  return `${path}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
}

/**
 * Write bytes to `path` atomically.
 *
 * @example
 * ```ts
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomic(`${dir}/a.bin`, new Uint8Array([1, 2, 3]));
 * const names = [...Deno.readDirSync(dir)].map((entry) => entry.name);
 * if (names.join() !== "a.bin") throw new Error(`left: ${names}`);
 * ```
 */
export async function writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
  const temporary = temporaryPathFor(path);
  try {
    await Deno.writeFile(temporary, data);
    // on disk before the rename, so a crash cannot leave an empty file under the final name
    using file = await Deno.open(temporary, { read: true });
    await file.syncData();
    await Deno.rename(temporary, path);
  } catch (error) {
    await Deno.remove(temporary).catch(() => {});
    throw error;
  }
}

/** Write text (UTF-8) to `path` atomically. */
export async function writeTextFileAtomic(path: string, text: string): Promise<void> {
  await writeFileAtomic(path, new TextEncoder().encode(text));
}
