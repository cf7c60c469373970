/**
 * Comments in the code refer only to files the repository holds: a path under src/, tests/,
 * bench/, kernels/ or .ci/ must exist (`*` and `<name>` stand for any name), and a Markdown
 * file named in a comment must be in the repository or be one of the tool's output files.
 */
import assert from "node:assert/strict";
import { isOutputName } from "../src/io/output_names.ts";

const ROOT = new URL("../", import.meta.url);

async function* sourceFiles(folder: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(new URL(folder, ROOT))) {
    const path = `${folder}${entry.name}`;
    if (entry.isDirectory && entry.name !== "results") yield* sourceFiles(`${path}/`);
    else if (entry.isFile && entry.name.endsWith(".ts")) yield path;
  }
}

/** The comments of a TypeScript source: block comments and line comments. */
function comments(source: string): string[] {
  return source.match(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g) ?? [];
}

/** A path as a pattern: `*` and `<name>` match any run of name characters. */
function exists(path: string, files: ReadonlySet<string>): boolean {
  const clean = path.replace(/[.,:;)]+$/, "");
  if (!/[*<]/.test(clean)) return files.has(clean) || files.has(clean.replace(/\/$/, ""));
  const pattern = new RegExp(
    "^" +
      clean.split(/(\*|<[^>]*>)/).map((part) =>
        part === "*" || part.startsWith("<") ? "[^/]*" : part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")
      ).join("") + "$",
  );
  return [...files].some((file) => pattern.test(file));
}

const git = await new Deno.Command("git", {
  args: ["ls-files", "--cached", "--others", "--exclude-standard"],
  cwd: ROOT,
}).output();
const tracked = new TextDecoder().decode(git.stdout).split("\n").filter((line) => line !== "");
const files = new Set([...tracked, ...tracked.map((f) => f.split("/").slice(0, -1).join("/"))]);

Deno.test({
  name: "comments in mod.ts, src/ and bench/ name only files in the repository",
  ignore: !git.success,
  async fn() {
    const missing: string[] = [];
    const sources = ["mod.ts"];
    for (const folder of ["src/", "bench/"]) {
      for await (const path of sourceFiles(folder)) sources.push(path);
    }
    for (const source of sources) {
      for (const comment of comments(await Deno.readTextFile(new URL(source, ROOT)))) {
        for (
          const [path] of comment.matchAll(
            /(?<![\w./-])(?:src|tests|bench|kernels|\.ci)\/[\w./*<>-]*/g,
          )
        ) {
          if (!exists(path, files)) missing.push(`${source}: ${path}`);
        }
        for (const [name] of comment.matchAll(/(?<![\w/-])[\w-]+\.md\b/g)) {
          if (!files.has(name) && !isOutputName(name)) missing.push(`${source}: ${name}`);
        }
      }
    }
    assert.deepEqual(missing, []);
  },
});
