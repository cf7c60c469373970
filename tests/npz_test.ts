import assert from "node:assert/strict";
import { decodeNpz, encodeNpy, encodeNpz } from "../src/io/npz.ts";

const arrays = {
  wall_ms: { data: new Float64Array([1.5, NaN, 3, 4, 5, 6]), shape: [2, 3] },
  x: { data: new Float32Array([0.25, -1, 3.5e-8]), shape: [3] },
  seq_lens: { data: new BigInt64Array([10n, 100n, 10000n]), shape: [3] },
  stage_names: { data: ["projection_qkv", "softmax", "é"], shape: [3] },
};

Deno.test("encodeNpy() writes a 64-byte aligned version 1.0 header", () => {
  const bytes = encodeNpy(arrays.x);
  assert.deepEqual([...bytes.subarray(0, 8)], [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  const headerLength = bytes[8]! | (bytes[9]! << 8);
  assert.equal((10 + headerLength) % 64, 0);
  assert.equal(bytes[10 + headerLength - 1], 0x0a);
  assert.equal(bytes.length, 10 + headerLength + 12);
  assert.throws(() => encodeNpy({ data: new Float64Array(5), shape: [2, 3] }), RangeError);
});

Deno.test("decodeNpz() reads back what encodeNpz() wrote, value by value", () => {
  const decoded = decodeNpz(encodeNpz(arrays));
  assert.deepEqual(Object.keys(decoded).sort(), Object.keys(arrays).sort());
  for (const [name, array] of Object.entries(arrays)) {
    assert.deepEqual(decoded[name]!.shape, array.shape, name);
    assert.deepEqual([...decoded[name]!.data], [...array.data], name);
  }
});

async function hasNumpy(): Promise<boolean> {
  try {
    const probe = await new Deno.Command("python3", { args: ["-c", "import numpy"] }).output();
    return probe.success;
  } catch {
    return false;
  }
}

Deno.test({
  name: "encodeNpz() output loads in numpy with allow_pickle=False, value by value",
  ignore: !(await hasNumpy()),
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const path = `${dir}/a.npz`;
      await Deno.writeFile(path, encodeNpz(arrays));
      const script = `
import json, sys, numpy as np
d = np.load(sys.argv[1], allow_pickle=False)
out = {k: {"dtype": str(d[k].dtype), "shape": list(d[k].shape),
           "values": [None if isinstance(v, float) and v != v else v for v in d[k].ravel().tolist()]}
       for k in d.files}
print(json.dumps(out))`;
      const result = await new Deno.Command("python3", { args: ["-c", script, path] }).output();
      assert.ok(result.success, new TextDecoder().decode(result.stderr));
      const loaded = JSON.parse(new TextDecoder().decode(result.stdout));
      assert.deepEqual(loaded.wall_ms, {
        dtype: "float64",
        shape: [2, 3],
        values: [1.5, null, 3, 4, 5, 6],
      });
      assert.equal(loaded.x.dtype, "float32");
      assert.deepEqual(loaded.x.values, [...arrays.x.data]);
      assert.deepEqual(loaded.seq_lens, { dtype: "int64", shape: [3], values: [10, 100, 10000] });
      assert.deepEqual(loaded.stage_names.values, ["projection_qkv", "softmax", "é"]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
