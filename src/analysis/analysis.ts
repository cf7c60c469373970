/**
 * The analysis across configurations, as data (the JSON's additive `analysis` field, which
 * report.md/html reuse) and as sentences (the console report): causal ÷ full time, GQA's memory
 * and projection savings, tokens per second per batch size, and the crossovers of sub-quadratic
 * attention with fused softmax attention.
 *
 * @module
 */

import type { Configuration } from "../configuration.ts";
import type { ProfileResults } from "../results.ts";
import {
  causalOverFull,
  type ConfigurationComparison,
  configurationLabel,
  gqaMemory,
  gqaProjection,
  type RatioPoint,
  type Throughput,
  throughputs,
} from "./configurations.ts";
import { type Crossover, findCrossovers } from "./crossover.ts";

/** What the analysis derived from a results object. */
export interface ResultsAnalysis {
  /** every configuration in words (`configurationLabel`) */
  configurations: { id: string; label: string }[];
  /** causal ÷ full mean wall time per n */
  causalOverFull: ConfigurationComparison[];
  /** grouped-query ÷ multi-head measured peak bytes per n */
  gqaMemory: ConfigurationComparison[];
  /** grouped-query ÷ multi-head Q|K|V projection kernel time per n */
  gqaProjection: ConfigurationComparison[];
  /** B·n / mean wall seconds, per series */
  tokensPerSecond: Throughput[];
  /** where each sub-quadratic series overtakes fused softmax attention */
  crossovers: Crossover[];
}

/** The analysis of a results file (empty lists where nothing compares). */
export function analyseResults(results: ProfileResults): ResultsAnalysis {
  return {
    configurations: (results.configurations ?? []).map((c) => ({
      id: c.id,
      label: configurationLabel(c),
    })),
    causalOverFull: causalOverFull(results),
    gqaMemory: gqaMemory(results),
    gqaProjection: gqaProjection(results),
    tokensPerSecond: throughputs(results),
    crossovers: findCrossovers(results),
  };
}

function _byId(results: ProfileResults, id: string): Configuration {
  return results.configurations!.find((c) => c.id === id)!;
}

function _ratios(ratios: readonly RatioPoint[]): string {
  return ratios.map((r) => `n=${r.seqLen}: ${r.ratio.toFixed(2)}`).join(", ");
}

/** What a causal ÷ full ratio should approach, per attention kind. */
const CAUSAL_EXPECTATION = {
  softmax: "half the scores are masked, so → 0.5 where the score work dominates and masked " +
    "blocks are skipped",
  linear: "no scores to skip: causal linear attention keeps prefix sums over key chunks instead " +
    "of one sum, so the ratio need not fall to 0.5",
} as const;

function _describeCausal(results: ProfileResults, analysis: ResultsAnalysis): string[] {
  return analysis.causalOverFull.map((c) => {
    const base = _byId(results, c.base);
    return `${c.implementation} causal ÷ full wall time (${configurationLabel(base, "mask")}): ${
      _ratios(c.ratios)
    } — ${CAUSAL_EXPECTATION[base.attention]}.`;
  });
}

function _describeGqa(results: ProfileResults, analysis: ResultsAnalysis): string[] {
  const key = (c: ConfigurationComparison) => `${c.implementation} ${c.base} ${c.compared}`;
  const pairs = [...new Set([...analysis.gqaMemory, ...analysis.gqaProjection].map(key))];
  return pairs.map((pair) => {
    const memory = analysis.gqaMemory.find((c) => key(c) === pair);
    const projection = analysis.gqaProjection.find((c) => key(c) === pair);
    const some = (memory ?? projection)!;
    const [base, compared] = [_byId(results, some.base), _byId(results, some.compared)];
    const parts = [
      ...(memory ? [`peak memory ${_ratios(memory.ratios)}`] : []),
      ...(projection ? [`Q|K|V projection time ${_ratios(projection.ratios)}`] : []),
    ];
    return `${some.implementation} grouped-query kv ${compared.kvHeads} ÷ kv ${base.kvHeads} (${
      configurationLabel(base, "kvHeads")
    }): ${parts.join("; ")}.`;
  });
}

function _describeThroughput(results: ProfileResults, analysis: ResultsAnalysis): string[] {
  const groups = new Map<string, Throughput[]>();
  for (const throughput of analysis.tokensPerSecond) {
    const configuration = _byId(results, throughput.configurationId);
    const key = `${throughput.implementation} (${configurationLabel(configuration, "batch")})`;
    groups.set(key, [...groups.get(key) ?? [], throughput]);
  }
  return [...groups].filter(([, list]) => list.length > 1).map(([key, list]) => {
    const sorted = [...list].sort((a, b) => a.batch - b.batch);
    const seqLens = [...new Set(sorted.flatMap((t) => t.points.map((p) => p.seqLen)))]
      .sort((a, b) => a - b);
    const atLength = seqLens.map((n) => {
      const rates = sorted.flatMap((t) => {
        const point = t.points.find((p) => p.seqLen === n);
        return point ? [{ batch: t.batch, rate: point.tokensPerSecond }] : [];
      });
      const first = rates[0]!;
      return `n=${n}: ` + rates.map((r) =>
        `B${r.batch} ${r.rate.toPrecision(3)}` +
        (r === first ? "" : ` (${(r.rate / first.rate).toFixed(2)}× B${first.batch})`)
      ).join(", ");
    });
    return `${key} tokens per second (B·n / mean wall time): ${atLength.join("; ")}.`;
  });
}

/** A crossover length, rounded for reading. */
function _length(seqLen: number): string {
  return String(Math.round(seqLen));
}

/** A crossover in one sentence. */
export function describeCrossover(results: ProfileResults, crossover: Crossover): string {
  const candidate = _byId(results, crossover.configurationId);
  const reference = _byId(results, crossover.referenceConfigurationId);
  const range = `n = ${crossover.seqLens[0]}…${crossover.seqLens.at(-1)}`;
  const { low, high } = crossover.interval;
  const interval = `95 % noise interval ${
    low === null ? `< ${crossover.seqLens[0]}` : _length(low)
  }…${high === null ? `> ${crossover.seqLens.at(-1)}` : _length(high)}`;
  const when = crossover.outcome === "crossed"
    ? `faster from n ≈ ${_length(crossover.seqLen!)} (log–log interpolation; ${interval})`
    : crossover.outcome === "faster-throughout"
    ? `faster at every measured length (${range})`
    : `not faster within the measured lengths (${range})`;
  const exponent = (value: number | null) => value === null ? "?" : value.toFixed(2);
  return `Crossover: ${crossover.series} (${
    configurationLabel(candidate)
  }) against ${crossover.reference} (${reference.mask}): ${when}; memory ∝ n^${
    exponent(crossover.memoryExponents.series)
  } against n^${exponent(crossover.memoryExponents.reference)}.`;
}

/** The analysis in sentences, for the console report (nothing when nothing compares). */
export function describeAnalysis(results: ProfileResults, analysis: ResultsAnalysis): string[] {
  return [
    ..._describeCausal(results, analysis),
    ..._describeGqa(results, analysis),
    ..._describeThroughput(results, analysis),
    ...analysis.crossovers.map((crossover) => describeCrossover(results, crossover)),
  ];
}
