/**
 * The user cache folder of measurements that outlive a run (tuned kernel parameters, calibrated
 * ceilings): `$SELF_ATTENTION_PROFILER_CACHE_DIR`, else `$XDG_CACHE_HOME/self-attention-profiler`,
 * else the platform's cache folder: `~/Library/Caches/` on macOS, `%LOCALAPPDATA%\` on Windows,
 * `~/.cache/` elsewhere. Nothing depends on it existing: without a folder (no HOME, no
 * --allow-env) the tool runs without a cache, and a missing file reads as null. What a cache file
 * holds is checked by its reader (src/gpu/tuning.ts, src/gpu/calibration.ts).
 *
 * @module
 */

import { writeTextFileAtomic } from "./atomic.ts";
import { isJsonRecord, type JsonRecord } from "./json_checks.ts";

/** Overrides the cache folder (tests point it at a temporary folder). */
export const CACHE_DIR_ENV = "SELF_ATTENTION_PROFILER_CACHE_DIR";

const FOLDER_NAME = "self-attention-profiler";

type Env = (name: string) => string | undefined;

/** Where each platform keeps per-user caches (XDG_CACHE_HOME unset); others: ~/.cache. */
const PLATFORM_CACHE_ROOTS: Readonly<Partial<Record<typeof Deno.build.os, (env: Env) => unknown>>> =
  {
    darwin: (env) => env("HOME") && `${env("HOME")}/Library/Caches`,
    windows: (env) => env("LOCALAPPDATA"),
  };
const OTHER_CACHE_ROOT = (env: Env) => env("HOME") && `${env("HOME")}/.cache`;

/**
 * The cache folder for an environment and OS, or null when none can be named.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const env = (name: string) => ({ HOME: "/Users/ada" } as Record<string, string>)[name];
 * assert(cacheDirFor(env, "darwin") === "/Users/ada/Library/Caches/self-attention-profiler");
 * ```
 */
export function cacheDirFor(env: Env, os: typeof Deno.build.os): string | null {
  const explicit = env(CACHE_DIR_ENV);
  if (explicit) return explicit;
  const root = env("XDG_CACHE_HOME") || (PLATFORM_CACHE_ROOTS[os] ?? OTHER_CACHE_ROOT)(env);
  return typeof root === "string" && root !== "" ? `${root}/${FOLDER_NAME}` : null;
}

/** This process's cache folder, or null (no folder can be named, or no --allow-env). */
export function cacheDir(): string | null {
  try {
    return cacheDirFor((name) => Deno.env.get(name), Deno.build.os);
  } catch {
    return null; // no --allow-env
  }
}

/** A cache file as read: its path, and its parsed JSON or what kept it from being read. */
export type CacheFile = { path: string; value: unknown } | { path: string; problem: string };

/** A cache file's parsed JSON, or null when there is no cache folder or no such file. */
export async function readCacheJson(name: string): Promise<CacheFile | null> {
  const dir = cacheDir();
  if (dir === null) return null;
  const path = `${dir}/${name}`;
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotCapable) {
      return null;
    }
    return { path, problem: `cannot be read (${error instanceof Error ? error.name : error})` };
  }
  try {
    return { path, value: JSON.parse(text) };
  } catch {
    return { path, problem: "is not valid JSON" };
  }
}

/**
 * A cache file's JSON object to add an entry to: {} when there is none, or when it is not a JSON
 * object (its entries were ignored, with a warning, when it was read).
 */
export async function readCacheRecord(name: string): Promise<JsonRecord> {
  const file = await readCacheJson(name);
  return file !== null && "value" in file && isJsonRecord(file.value) ? file.value : {};
}

/** Write a cache file atomically (folder created); returns its path. */
export async function writeCacheJson(name: string, value: unknown): Promise<string> {
  const dir = cacheDir();
  if (dir === null) {
    throw new Error(`no cache folder: set ${CACHE_DIR_ENV}, XDG_CACHE_HOME or HOME`);
  }
  await Deno.mkdir(dir, { recursive: true });
  const path = `${dir}/${name}`;
  await writeTextFileAtomic(path, JSON.stringify(value, null, 2) + "\n");
  return path;
}
