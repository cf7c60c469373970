/**
 * Each GPU variant's planner, keyed by its registry name (src/variants/registry.ts): the type
 * makes a registry entry without a planner a compile error.
 *
 * @module
 */

import type { VariantName } from "../../variants/registry.ts";
import type { VariantPlanner } from "../plan.ts";
import { planFused } from "./fused.ts";
import { planLinear } from "./linear.ts";
import { planNaive } from "./naive.ts";

/** The planner of every variant. */
export const GPU_VARIANT_PLANNERS: Readonly<Record<VariantName, VariantPlanner>> = {
  naive: planNaive,
  fused: planFused,
  linear: planLinear,
};
