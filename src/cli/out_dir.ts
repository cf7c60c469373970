/**
 * Checks that an output folder can be written, without creating it: bad input writes nothing.
 *
 * @module
 */

import { dirname, resolve } from "node:path";
import { UsageError } from "./usage_error.ts";

async function statOrNull(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

async function assertWritableFolder(flag: string, given: string, folder: string): Promise<void> {
  const probe = `${folder}/.write_probe_${Deno.pid}_${crypto.randomUUID().slice(0, 8)}`;
  try {
    await Deno.writeFile(probe, new Uint8Array());
    await Deno.remove(probe);
  } catch {
    throw new UsageError(`--${flag} ${JSON.stringify(given)}: ${folder} is not writable`);
  }
}

/**
 * Throw a UsageError unless `path` is a writable folder or could be created as one: the nearest
 * existing ancestor must be a writable folder. Nothing is left behind.
 */
export async function checkOutDir(path: string, flag = "out"): Promise<void> {
  let current = resolve(path);
  const info = await statOrNull(current);
  if (info !== null) {
    if (!info.isDirectory) {
      throw new UsageError(`--${flag} ${JSON.stringify(path)}: exists and is not a folder`);
    }
    return await assertWritableFolder(flag, path, current);
  }
  while (true) {
    const parent = dirname(current);
    const parentInfo = await statOrNull(parent);
    if (parentInfo !== null) {
      if (!parentInfo.isDirectory) {
        throw new UsageError(`--${flag} ${JSON.stringify(path)}: ${parent} is not a folder`);
      }
      return await assertWritableFolder(flag, path, parent);
    }
    if (parent === current) return;
    current = parent;
  }
}
