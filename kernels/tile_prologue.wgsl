// tile_prologue: the sizes shared by the workgroup-tile layouts (projection_tiled.wgsl,
// scores_tiled.wgsl, weighted_values_tiled.wgsl). A workgroup is ROW_LANES × COL_LANES
// invocations, invocation `lane` at row lane ⌊lane / COL_LANES⌋ and column lane lane % COL_LANES;
// each owns ROW_BLOCKS blocks of four rows, so the workgroup covers TILE_ROWS rows, and the tiles
// are staged TILE_INNER vec4 deep along the inner dimension. Needs ROW_BLOCKS.
//
// Host-checked: WORKGROUP_SIZE == ROW_LANES · COL_LANES, and the workgroup arrays fit the device's
// maxComputeWorkgroupStorageSize (the variants' plans).
const ROW_LANES: u32 = {{ROW_LANES}}u;
const COL_LANES: u32 = {{COL_LANES}}u;
/** vec4 along the inner dimension staged per step */
const TILE_INNER: u32 = {{TILE_INNER}}u;
const TILE_ROWS: u32 = 4u * ROW_BLOCKS * ROW_LANES;
