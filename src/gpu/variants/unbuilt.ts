/**
 * The configurations whose kernels are not built yet: batch > 1, grouped-query heads, masks.
 *
 * @module
 */

import { type AttentionShape, resolveShape } from "../../shape.ts";

/** Why the kernels do not run this configuration yet, or null for the seed's configuration. */
export function seedConfigurationOnly(shape: AttentionShape): string | null {
  const s = resolveShape(shape);
  const seed = s.batch === 1 && s.kvHeads === s.heads && s.mask === "full";
  return seed ? null : "the GPU kernels do not compute this configuration yet";
}

/** Why the Q|K|V projection does not write this configuration yet (batches, grouped K/V). */
export function seedProjectionOnly(shape: AttentionShape): string | null {
  const s = resolveShape(shape);
  const seed = s.batch === 1 && s.kvHeads === s.heads;
  return seed ? null : "the GPU projection does not compute this configuration yet";
}
