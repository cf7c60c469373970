/**
 * The user cache folder of measurements that outlive a run (tuned kernel parameters, calibrated
 * ceilings): `$SELF_ATTENTION_PROFILER_CACHE_DIR`, else `$XDG_CACHE_HOME/self-attention-profiler`,
 * else `~/.cache/self-attention-profiler`. Nothing depends on it existing: a missing or unreadable
 * file reads as null, and without --allow-env there is no cache at all.
 *
 * @module
 */

import { writeTextFileAtomic } from "./atomic.ts";

/** Overrides the cache folder (tests point it at a temporary folder). */
export const CACHE_DIR_ENV = "SELF_ATTENTION_PROFILER_CACHE_DIR";

/** The cache folder, or null when no environment variable says where it is. */
export function cacheDir(): string | null {
  try {
    const explicit = Deno.env.get(CACHE_DIR_ENV);
    if (explicit) return explicit;
    const xdg = Deno.env.get("XDG_CACHE_HOME");
    if (xdg) return `${xdg}/self-attention-profiler`;
    const home = Deno.env.get("HOME");
    return home ? `${home}/.cache/self-attention-profiler` : null;
  } catch {
    return null; // no --allow-env
  }
}

/** The parsed JSON of a cache file, or null when it is missing, unreadable or not JSON. */
export async function readCacheJson(name: string): Promise<unknown> {
  const dir = cacheDir();
  if (dir === null) return null;
  try {
    return JSON.parse(await Deno.readTextFile(`${dir}/${name}`));
  } catch {
    return null;
  }
}

/** Write a cache file atomically (folder created); returns its path. */
export async function writeCacheJson(name: string, value: unknown): Promise<string> {
  const dir = cacheDir();
  if (dir === null) throw new Error(`no cache folder: set ${CACHE_DIR_ENV} or HOME`);
  await Deno.mkdir(dir, { recursive: true });
  const path = `${dir}/${name}`;
  await writeTextFileAtomic(path, JSON.stringify(value, null, 2) + "\n");
  return path;
}
