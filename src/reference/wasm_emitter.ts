/**
 * A small WebAssembly emitter: enough of the binary format to write the CPU path's kernels
 * (scalar i32/f32 and 128-bit SIMD) as typed TypeScript expressions instead of a binary blob.
 *
 * Why WebAssembly: on the measured machine (README.md, "Measured here") V8 bounds-checks every
 * typed-array element access, which caps a scalar JavaScript matmul at ~6 GFLOP/s per core however it is
 * blocked; a WebAssembly load needs no bounds-check instruction (guard pages) and an f32x4 op does
 * four lanes. The kernels still read and write typed arrays: the module's memory is a shared
 * `WebAssembly.Memory` whose buffer is a SharedArrayBuffer.
 *
 * Code is built as byte arrays: every helper returns the bytes of one expression or statement,
 * so a kernel reads like the stack machine it compiles to.
 *
 * @module
 */

/** Bytes of an expression or statement. */
export type Code = number[];

/** Value types and their encodings. */
export const ValType = { I32: 0x7f, F32: 0x7d, V128: 0x7b } as const;
/** One of {@link ValType}. */
export type ValType = (typeof ValType)[keyof typeof ValType];

/** A local variable (or parameter) of the function being built. */
export interface Local {
  readonly index: number;
  readonly type: ValType;
}

function unsignedLeb(value: number): Code {
  const out: Code = [];
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

function signedLeb(value: number): Code {
  const out: Code = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function utf8Name(name: string): Code {
  const bytes = [...new TextEncoder().encode(name)];
  return [...unsignedLeb(bytes.length), ...bytes];
}

function vector(items: Code[]): Code {
  return [...unsignedLeb(items.length), ...items.flat()];
}

function section(id: number, content: Code): Code {
  return [id, ...unsignedLeb(content.length), ...content];
}

/** Concatenate statements. */
export function seq(...parts: Code[]): Code {
  return parts.flat();
}

// ---- locals and control ----------------------------------------------------------------------

export function get(local: Local): Code {
  return [0x20, ...unsignedLeb(local.index)];
}
export function set(local: Local, value: Code): Code {
  return [...value, 0x21, ...unsignedLeb(local.index)];
}
/** `local += amount` for an i32 local. */
export function increment(local: Local, amount: Code | number): Code {
  return set(
    local,
    i32.add(get(local), typeof amount === "number" ? i32.constant(amount) : amount),
  );
}
export function block(...body: Code[]): Code {
  return [0x02, 0x40, ...body.flat(), 0x0b];
}
export function loop(...body: Code[]): Code {
  return [0x03, 0x40, ...body.flat(), 0x0b];
}
export function ifThen(condition: Code, then: Code[], otherwise?: Code[]): Code {
  const elseBranch = otherwise ? [0x05, ...otherwise.flat()] : [];
  return [...condition, 0x04, 0x40, ...then.flat(), ...elseBranch, 0x0b];
}
export function brIf(depth: number, condition: Code): Code {
  return [...condition, 0x0d, ...unsignedLeb(depth)];
}
export function call(functionIndex: number, ...args: Code[]): Code {
  return [...args.flat(), 0x10, ...unsignedLeb(functionIndex)];
}
/** `select(a, b, condition)`: a when condition ≠ 0, else b. */
export function select(a: Code, b: Code, condition: Code): Code {
  return [...a, ...b, ...condition, 0x1b];
}

/**
 * `for (counter = start; counter < end; counter += step) body` with i32 signed comparison; the
 * body must leave the stack empty and must not branch outside itself.
 */
export function forRange(
  counter: Local,
  start: Code,
  end: Code,
  step: number | Code,
  ...body: Code[]
): Code {
  return seq(
    set(counter, start),
    block(
      brIf(0, i32.geS(get(counter), end)),
      loop(...body, increment(counter, step), brIf(0, i32.ltS(get(counter), end))),
    ),
  );
}

function memArg(alignLog2: number, offset: number): Code {
  return [...unsignedLeb(alignLog2), ...unsignedLeb(offset)];
}

// ---- scalar ------------------------------------------------------------------------------------

export const i32 = {
  constant: (value: number): Code => [0x41, ...signedLeb(value)],
  add: (a: Code, b: Code): Code => [...a, ...b, 0x6a],
  sub: (a: Code, b: Code): Code => [...a, ...b, 0x6b],
  mul: (a: Code, b: Code): Code => [...a, ...b, 0x6c],
  and: (a: Code, b: Code): Code => [...a, ...b, 0x71],
  shl: (a: Code, b: Code): Code => [...a, ...b, 0x74],
  eqz: (a: Code): Code => [...a, 0x45],
  eq: (a: Code, b: Code): Code => [...a, ...b, 0x46],
  ne: (a: Code, b: Code): Code => [...a, ...b, 0x47],
  ltS: (a: Code, b: Code): Code => [...a, ...b, 0x48],
  gtS: (a: Code, b: Code): Code => [...a, ...b, 0x4a],
  leS: (a: Code, b: Code): Code => [...a, ...b, 0x4c],
  geS: (a: Code, b: Code): Code => [...a, ...b, 0x4e],
  ltU: (a: Code, b: Code): Code => [...a, ...b, 0x49],
  /** signed minimum; evaluates `a` and `b` twice, so pass side-effect-free expressions */
  minS: (a: Code, b: Code): Code => select(a, b, i32.ltS(a, b)),
};

export const f32 = {
  constant: (value: number): Code => [0x43, ...new Uint8Array(new Float32Array([value]).buffer)],
  load: (address: Code, offset = 0): Code => [...address, 0x2a, ...memArg(2, offset)],
  store: (address: Code, value: Code, offset = 0): Code => [
    ...address,
    ...value,
    0x38,
    ...memArg(2, offset),
  ],
  add: (a: Code, b: Code): Code => [...a, ...b, 0x92],
  sub: (a: Code, b: Code): Code => [...a, ...b, 0x93],
  mul: (a: Code, b: Code): Code => [...a, ...b, 0x94],
  div: (a: Code, b: Code): Code => [...a, ...b, 0x95],
  max: (a: Code, b: Code): Code => [...a, ...b, 0x97],
};

// ---- SIMD --------------------------------------------------------------------------------------

function simd(opcode: number): Code {
  return [0xfd, ...unsignedLeb(opcode)];
}

export const v128 = {
  /** the all-zero vector */
  zero: (): Code => [...simd(0x0c), ...new Array<number>(16).fill(0)],
  load: (address: Code, offset = 0): Code => [...address, ...simd(0x00), ...memArg(4, offset)],
  store: (address: Code, value: Code, offset = 0): Code => [
    ...address,
    ...value,
    ...simd(0x0b),
    ...memArg(4, offset),
  ],
  /** load one f32/i32 and splat it to every lane */
  load32Splat: (address: Code, offset = 0): Code => [
    ...address,
    ...simd(0x09),
    ...memArg(2, offset),
  ],
  and: (a: Code, b: Code): Code => [...a, ...b, ...simd(0x4e)],
  /** lanes of a where mask is set, else lanes of b */
  bitselect: (a: Code, b: Code, mask: Code): Code => [...a, ...b, ...mask, ...simd(0x52)],
};

export const f32x4 = {
  /** a constant in every lane (`v128.const`) */
  constant: (value: number): Code => {
    const lane = [...new Uint8Array(new Float32Array([value]).buffer)];
    return [...simd(0x0c), ...lane, ...lane, ...lane, ...lane];
  },
  splat: (value: Code): Code => [...value, ...simd(0x13)],
  extractLane: (vector: Code, lane: number): Code => [...vector, ...simd(0x1f), lane],
  add: (a: Code, b: Code): Code => [...a, ...b, ...simd(0xe4)],
  sub: (a: Code, b: Code): Code => [...a, ...b, ...simd(0xe5)],
  mul: (a: Code, b: Code): Code => [...a, ...b, ...simd(0xe6)],
  /** lanewise `a < b ? b : a` (one instruction, unlike `max`'s NaN and ±0 rules) */
  pmax: (a: Code, b: Code): Code => [...a, ...b, ...simd(0xeb)],
  /** lanewise a < b, all-ones mask where true */
  lt: (a: Code, b: Code): Code => [...a, ...b, ...simd(0x43)],
};

export const i32x4 = {
  /** a constant in every lane (`v128.const`) */
  constant: (value: number): Code => {
    const lane = [...new Uint8Array(new Int32Array([value]).buffer)];
    return [...simd(0x0c), ...lane, ...lane, ...lane, ...lane];
  },
  splat: (value: Code): Code => [...value, ...simd(0x11)],
  add: (a: Code, b: Code): Code => [...a, ...b, ...simd(0xae)],
  shl: (a: Code, bits: Code): Code => [...a, ...bits, ...simd(0xab)],
};

// ---- functions and modules -------------------------------------------------------------------

/** One function under construction: declare parameters and locals, then give its body. */
export class FunctionBuilder {
  readonly params: Local[];
  #locals: Local[] = [];
  #body: Code = [];

  constructor(readonly name: string, paramTypes: ValType[], readonly resultTypes: ValType[] = []) {
    this.params = paramTypes.map((type, index) => ({ index, type }));
  }

  local(type: ValType): Local {
    const local = { index: this.params.length + this.#locals.length, type };
    this.#locals.push(local);
    return local;
  }

  body(...code: Code[]): this {
    this.#body = code.flat();
    return this;
  }

  /** The code-section entry: locals declaration and body. */
  encode(): Code {
    const localGroups = this.#locals.map((local) => [1, local.type]);
    const content = [...vector(localGroups), ...this.#body, 0x0b];
    return [...unsignedLeb(content.length), ...content];
  }

  signature(): Code {
    return [
      0x60,
      ...vector(this.params.map((p) => [p.type])),
      ...vector(this.resultTypes.map((t) => [t])),
    ];
  }
}

/**
 * A module that imports one shared memory as `env.memory` and exports every function it holds
 * under the function's name. A function's index (for `call`) is the order it was added in.
 */
export class ModuleBuilder {
  #functions: FunctionBuilder[] = [];

  /** Add a function; returns its index. */
  add(fn: FunctionBuilder): number {
    this.#functions.push(fn);
    return this.#functions.length - 1;
  }

  /** The binary module; the imported memory may have at most `memoryMaximumPages` 64 KiB pages. */
  encode(memoryMaximumPages: number): Uint8Array<ArrayBuffer> {
    const functions = this.#functions;
    const sharedWithMaximum = 0x03;
    const memoryImport = [
      ...utf8Name("env"),
      ...utf8Name("memory"),
      0x02,
      sharedWithMaximum,
      ...unsignedLeb(1),
      ...unsignedLeb(memoryMaximumPages),
    ];
    const exports = functions.map((f, index) => [...utf8Name(f.name), 0x00, ...unsignedLeb(index)]);
    const bytes = [
      ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
      ...section(1, vector(functions.map((f) => f.signature()))),
      ...section(2, vector([memoryImport])),
      ...section(3, vector(functions.map((_, index) => unsignedLeb(index)))),
      ...section(7, vector(exports)),
      ...section(10, vector(functions.map((f) => f.encode()))),
    ];
    return new Uint8Array(bytes);
  }
}
