/**
 * Atomic file writes: write a temporary file beside the target, then rename it over the target, so
 * a reader (or an interrupted run) never sees a half-written file.
 *
 * @module
 */

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
