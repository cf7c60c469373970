/**
 * NumPy `.npy` arrays in a `.npz` archive, loadable with `np.load(path, allow_pickle=False)`.
 * The ZIP container (and its CRC) comes from fflate; the `.npy` header is written here (format 1.0:
 * magic, version, little-endian header length, a Python-literal dict padded to 64 bytes).
 *
 * @module
 */

import { unzipSync, zipSync } from "fflate";

/** Element data of one array: numbers of a typed array, or strings (stored as `<U`). */
export type NpyData = Float64Array | Float32Array | Int32Array | BigInt64Array | string[];

/** One n-dimensional array, row-major. */
export interface NpyArray {
  /** the values, row-major */
  data: NpyData;
  /** the array's dimensions */
  shape: number[];
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const PREAMBLE_BYTES = 10; // magic (6) + version (2) + header length (2)
const HEADER_ALIGNMENT = 64;

/** Error for bytes that are not the `.npy` / `.npz` this module writes. */
export class NpyFormatError extends Error {
  override name = "NpyFormatError";
}

function descriptorOf(data: NpyData): string {
  if (Array.isArray(data)) {
    const longest = Math.max(1, ...data.map((s) => [...s].length));
    return `<U${longest}`;
  }
  if (data instanceof Float64Array) return "<f8";
  if (data instanceof Float32Array) return "<f4";
  if (data instanceof Int32Array) return "<i4";
  return "<i8";
}

function elementBytes(data: NpyData, descriptor: string): Uint8Array {
  if (!Array.isArray(data)) {
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  }
  // <U n: n UTF-32LE code points per element, zero padded
  const width = Number(descriptor.slice(2));
  const codePoints = new Uint32Array(data.length * width);
  data.forEach((text, i) => {
    [...text].forEach((char, j) => codePoints[i * width + j] = char.codePointAt(0)!);
  });
  return new Uint8Array(codePoints.buffer);
}

/**
 * Encode one array as `.npy` bytes (little-endian machines only, as typed arrays are native-endian).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const bytes = encodeNpy({ data: new Float64Array([1, 2]), shape: [2] });
 * assert(bytes[0] === 0x93);
 * ```
 */
export function encodeNpy(array: NpyArray): Uint8Array {
  const count = array.shape.reduce((a, b) => a * b, 1);
  if (count !== array.data.length) {
    throw new RangeError(
      `shape [${array.shape}] holds ${count} elements, data has ${array.data.length}`,
    );
  }
  const descriptor = descriptorOf(array.data);
  const shapeLiteral = array.shape.length === 1
    ? `(${array.shape[0]},)`
    : `(${array.shape.join(", ")})`;
  let header = `{'descr': '${descriptor}', 'fortran_order': False, 'shape': ${shapeLiteral}, }`;
  const padding = HEADER_ALIGNMENT - ((PREAMBLE_BYTES + header.length + 1) % HEADER_ALIGNMENT);
  header += " ".repeat(padding % HEADER_ALIGNMENT) + "\n";
  const body = elementBytes(array.data, descriptor);
  const bytes = new Uint8Array(PREAMBLE_BYTES + header.length + body.length);
  bytes.set(MAGIC, 0);
  bytes.set([1, 0], 6);
  new DataView(bytes.buffer).setUint16(8, header.length, true);
  bytes.set(new TextEncoder().encode(header), PREAMBLE_BYTES);
  bytes.set(body, PREAMBLE_BYTES + header.length);
  return bytes;
}

/** Decode `.npy` bytes written by {@link encodeNpy} (the dtypes it writes, C order). */
export function decodeNpy(bytes: Uint8Array): NpyArray {
  if (!MAGIC.every((b, i) => bytes[i] === b)) throw new NpyFormatError("not a .npy array");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint16(8, true);
  const header = new TextDecoder().decode(
    bytes.subarray(PREAMBLE_BYTES, PREAMBLE_BYTES + headerLength),
  );
  const descriptor = /'descr': '([^']+)'/.exec(header)?.[1];
  const shapeText = /'shape': \(([^)]*)\)/.exec(header)?.[1];
  if (
    descriptor === undefined || shapeText === undefined || header.includes("'fortran_order': True")
  ) {
    throw new NpyFormatError(`unsupported .npy header ${header.trim()}`);
  }
  const shape = shapeText.split(",").map((s) => s.trim()).filter((s) => s !== "").map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const body = bytes.slice(PREAMBLE_BYTES + headerLength).buffer;
  switch (descriptor) {
    case "<f8":
      return { data: new Float64Array(body, 0, count), shape };
    case "<f4":
      return { data: new Float32Array(body, 0, count), shape };
    case "<i4":
      return { data: new Int32Array(body, 0, count), shape };
    case "<i8":
      return { data: new BigInt64Array(body, 0, count), shape };
  }
  if (!descriptor.startsWith("<U")) throw new NpyFormatError(`unsupported dtype ${descriptor}`);
  const width = Number(descriptor.slice(2));
  const codePoints = new Uint32Array(body, 0, count * width);
  const strings = Array.from({ length: count }, (_, i) => {
    const chars = [...codePoints.subarray(i * width, (i + 1) * width)].filter((c) => c !== 0);
    return String.fromCodePoint(...chars);
  });
  return { data: strings, shape };
}

/**
 * Encode named arrays as an uncompressed `.npz` (what `np.savez` writes).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const npz = encodeNpz({ seq_lens: { data: new BigInt64Array([10n, 100n]), shape: [2] } });
 * assert(decodeNpz(npz).seq_lens!.shape[0] === 2);
 * ```
 */
export function encodeNpz(arrays: Record<string, NpyArray>): Uint8Array {
  const entries = Object.fromEntries(
    Object.entries(arrays).map(([name, array]) => [`${name}.npy`, encodeNpy(array)]),
  );
  return zipSync(entries, { level: 0 });
}

/** Decode a `.npz` written by {@link encodeNpz}. */
export function decodeNpz(bytes: Uint8Array): Record<string, NpyArray> {
  const entries = unzipSync(bytes);
  return Object.fromEntries(
    Object.entries(entries).map(([file, data]) => [file.replace(/\.npy$/, ""), decodeNpy(data)]),
  );
}
