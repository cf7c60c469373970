/**
 * How the CPU path's workers share a pass: a phase is a queue of units handed out by a shared
 * counter (Atomics.add), so a worker slowed by another process simply takes fewer; workers meet
 * at a barrier between phases. The counters live in an Int32Array of the shared memory, zeroed
 * before each pass.
 *
 * @module
 */

/**
 * How long a worker spins on a shared slot before it sleeps in Atomics.wait: waking a sleeping
 * thread costs ~0.3 ms here, about what a phase's last unit keeps the others waiting.
 */
const SPIN_MS = 2;

/** Return once `control[slot]` holds at least `target`: spin a little, then sleep. */
export function waitUntil(control: Int32Array, slot: number, target: number): void {
  const start = performance.now();
  for (let spins = 1;; spins++) {
    const value = Atomics.load(control, slot);
    if (value >= target) return;
    if (spins % 64 === 0 && performance.now() - start > SPIN_MS) {
      Atomics.wait(control, slot, value);
    }
  }
}

/**
 * Return once every one of `workerCount` workers has arrived at barrier number `index` (0-based,
 * counted over the pass in `control[arrivalsSlot]`).
 */
export function barrier(
  control: Int32Array,
  arrivalsSlot: number,
  workerCount: number,
  index: number,
): void {
  const everyone = workerCount * (index + 1);
  const arrived = Atomics.add(control, arrivalsSlot, 1) + 1;
  if (arrived === everyone) Atomics.notify(control, arrivalsSlot);
  else waitUntil(control, arrivalsSlot, everyone);
}

/** Units of one kind in a phase: `units` of them, unit i done by `run(i)`. */
export interface Task {
  units: number;
  run(unit: number): void;
}

/**
 * Take units of a phase (its tasks' units, task after task) from `control[nextUnitSlot]` and run
 * them until none is left.
 */
export function runPhase(control: Int32Array, nextUnitSlot: number, tasks: readonly Task[]): void {
  const total = tasks.reduce((sum, task) => sum + task.units, 0);
  for (;;) {
    let unit = Atomics.add(control, nextUnitSlot, 1);
    if (unit >= total) return;
    for (const task of tasks) {
      if (unit < task.units) {
        task.run(unit);
        break;
      }
      unit -= task.units;
    }
  }
}
