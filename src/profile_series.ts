/**
 * The series of a configuration: the CPU path (when measured) and every GPU variant at every
 * precision asked for, named and labelled from the variant registry.
 *
 * @module
 */

import type { ProfileConfig } from "./config.ts";
import type { Configuration } from "./configuration.ts";
import { shapeOf } from "./configuration.ts";
import type { GpuContext } from "./gpu/device.ts";
import { cpuUnsupported } from "./preflight.ts";
import type { SeriesResult } from "./results.ts";
import { resolveShape } from "./shape.ts";
import {
  type Implementation,
  implementationName,
  VARIANT_NAMES,
  type VariantName,
  VARIANTS,
} from "./variants/registry.ts";

/** A series as the profile runs it. */
export interface PlannedSeries {
  implementation: Implementation;
  /** `cpu`, `gpu_fused`, …: the series name without the configuration */
  implementationName: string;
  /** the series in the results (its points filled as they finish) */
  series: SeriesResult;
  /** why this implementation does not run this configuration at all, or null */
  unsupported: string | null;
}

/** The series name: the implementation, and with several configurations `__<configuration id>`. */
export function seriesName(
  implementation: Implementation,
  configuration: Configuration,
  severalConfigurations: boolean,
): string {
  const base = implementationName(implementation);
  return severalConfigurations ? `${base}__${configuration.id}` : base;
}

/** Every series of one configuration, in report order. */
export function planSeries(
  configuration: Configuration,
  config: ProfileConfig,
  gpu: GpuContext | null,
  severalConfigurations: boolean,
): PlannedSeries[] {
  const shape = resolveShape(shapeOf(configuration, 1));
  const implementations: Implementation[] = [
    ...(config.devices.includes("cpu") ? [{ device: "cpu" as const }] : []),
    ...(gpu === null
      ? []
      : _variantsOf(configuration, config).flatMap((variant) =>
        config.precisions.map((precision) => ({ device: "gpu" as const, variant, precision }))
      )),
  ];
  return implementations.map((implementation) => {
    const series: SeriesResult = {
      name: seriesName(implementation, configuration, severalConfigurations),
      device: implementation.device,
      ...(implementation.device === "gpu"
        ? { variant: implementation.variant, precision: implementation.precision }
        : {}),
      configurationId: configuration.id,
      label: _label(implementation, gpu),
      points: [],
      localSlopes: [],
    };
    const unsupported = implementation.device === "cpu"
      ? cpuUnsupported(shape)
      : VARIANTS[implementation.variant].unsupported(shape);
    return {
      implementation,
      implementationName: implementationName(implementation),
      series,
      unsupported,
    };
  });
}

/** The GPU variants of a configuration: `--variants` for softmax, every linear one for linear. */
function _variantsOf(configuration: Configuration, config: ProfileConfig): VariantName[] {
  return configuration.attention === "softmax"
    ? config.variants
    : VARIANT_NAMES.filter((name) => VARIANTS[name].attention === configuration.attention);
}

function _label(implementation: Implementation, gpu: GpuContext | null): string {
  if (implementation.device === "cpu") {
    return `CPU (${navigator.hardwareConcurrency} workers, WebAssembly SIMD)`;
  }
  const software = gpu!.adapter.isSoftware ? ", software" : "";
  const backend = gpu!.adapter.backend ? `, ${gpu!.adapter.backend} backend` : "";
  const storage = implementation.precision === "f16" ? " f16" : "";
  return `GPU ${implementation.variant}${storage} (${
    gpu!.adapter.description
  }${software}${backend})`;
}
