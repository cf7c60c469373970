// noop: an empty kernel. Its time is the fixed cost of one dispatch (and of one compute pass with
// timestamps), the floor under every stage time.

override WORKGROUP_SIZE: u32 = 1u;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main() {
}
