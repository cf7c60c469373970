/**
 * Checks that an output folder can be written, without creating it: bad input writes nothing.
 * What can go wrong later is checked now: a dangling symbolic link, and a folder (or anything but
 * a file) under the name of one of our output files, which no write could replace.
 *
 * @module
 */

import { dirname, join, resolve } from "node:path";
import { isOutputName, isOutputTemporary } from "../io/output_names.ts";
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

/** A folder or link under one of our output names: the run would fail at its first write there. */
async function assertNoOutputNameTaken(flag: string, given: string, folder: string): Promise<void> {
  for await (const entry of Deno.readDir(folder)) {
    if (entry.isFile || !(isOutputName(entry.name) || isOutputTemporary(entry.name))) continue;
    const kind = entry.isDirectory
      ? "a folder"
      : entry.isSymlink
      ? "a symbolic link"
      : "not a file";
    throw new UsageError(
      `--${flag} ${JSON.stringify(given)}: ${join(folder, entry.name)} is ${kind}, where this ` +
        "tool writes a file of that name; move it away or choose another folder",
    );
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
    await assertWritableFolder(flag, path, current);
    return await assertNoOutputNameTaken(flag, path, current);
  }
  const link = await Deno.lstat(current).catch(() => null);
  if (link?.isSymlink) {
    const target = await Deno.readLink(current);
    throw new UsageError(
      `--${flag} ${JSON.stringify(path)}: a symbolic link to ${target}, which does not exist; ` +
        "create the folder it points to, or remove the link",
    );
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
