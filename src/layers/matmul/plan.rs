//! Planning one GEMM launch, with no device: from the GEMM's sizes, its epilogue and a
//! [`LaunchProfile`], the tile, the k split and the grid ([`plan`]). The encoders run exactly
//! what it returns, so a test of the plan on a big GPU's profile checks what would run there.
//!
//! - On a CPU adapter (lavapipe) the tile is the cheapest by [`Tile::for_product`]'s cost, in
//!   rounds of [`LaunchProfile::parallel_workgroups`], and k is never split. Trained weights
//!   there are recorded bit for bit (`tests/preset_digests.rs`): a change here moves them.
//! - On a GPU the launch should offer at least [`LaunchProfile::min_workgroups`]: the cheapest
//!   tile shape that does so alone; else k is split (any epilogue: the summing launch applies
//!   it), aiming at [`LaunchProfile::target_workgroups`] with splits of at least
//!   [`GPU_MIN_SPLIT_K`] terms, in the cheapest shape that reaches the minimum that way; else the
//!   shape and split with the most workgroups.

use super::{Epilogue, Params, Tile, TILE_K};
use crate::gpu::LaunchProfile;
use crate::layers::bias;

/// Fewest terms one split sums on a GPU (two k slices): its partial is cheap next to the
/// latency a launch with too few workgroups wastes.
pub const GPU_MIN_SPLIT_K: u32 = 2 * TILE_K;
/// Most splits of one product a GPU plan aims for.
pub const GPU_MAX_SPLITS: u32 = 256;

/// How one GEMM launches: the tile, the k split (in `params.k_chunk`) and the grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GemmPlan {
    /// The GEMM's sizes, with `k_chunk` the terms each split sums.
    pub params: Params,
    /// The block of C one workgroup computes.
    pub tile: Tile,
    /// Workgroups along N (tiles), M (tiles) and k (splits).
    pub grid: [u32; 3],
}

impl GemmPlan {
    /// `params` (split as its `k_chunk` says) in tiles of `tile`.
    pub fn new(params: Params, tile: Tile) -> Self {
        Self {
            params,
            tile,
            grid: grid(&params, tile),
        }
    }

    /// Number of k splits (the grid's z size).
    pub fn splits(&self) -> u32 {
        self.grid[2]
    }

    /// Workgroups of the GEMM launch (not counting the launch that sums the splits).
    pub fn workgroups(&self) -> u64 {
        self.grid.iter().map(|&axis| u64::from(axis)).product()
    }

    /// Multiply-adds the tiles compute per k step, padding included, plus the staging cost
    /// ([`Tile::cost`]): the cost model that breaks ties between plans.
    fn cost(&self) -> u64 {
        self.tile.cost(self.params.m, self.params.n, 1)
    }
}

/// The grid of `params` in tiles of `tile`: `[N tiles, M tiles, splits]`.
pub fn grid(params: &Params, tile: Tile) -> [u32; 3] {
    [
        params.n.div_ceil(tile.cols()),
        params.m.div_ceil(tile.rows()),
        params.splits(),
    ]
}

/// Whether split partials of a GEMM with `epilogue` are summed by `bias.backward` (no
/// epilogue to apply after the sum), as every split on a CPU adapter (a weight gradient's) is.
pub fn sums_in_bias_backward(epilogue: Epilogue) -> bool {
    matches!(epilogue, Epilogue::None | Epilogue::ColumnSums)
}

/// How the GEMM of `params` with `epilogue` launches on a device of `profile`.
pub fn plan(params: Params, epilogue: Epilogue, profile: &LaunchProfile) -> GemmPlan {
    if profile.cpu_adapter {
        plan_by_cost(params, profile)
    } else {
        plan_for_gpu(params, epilogue, profile)
    }
}

/// The plan of a CPU adapter: the cheapest tile, and no split. Splitting k does not pay on
/// lavapipe: conv2d's weight gradient (9 × 32 × 43,264, one 16 × 32 tile of 8 threads) took
/// 10.3 ms whole, 9.4 ms in 2 splits and 9.6 ms in 4, for twice the CPU time, and each split
/// costs a launch that sums the partials.
fn plan_by_cost(params: Params, profile: &LaunchProfile) -> GemmPlan {
    let tile = Tile::for_product(params.m, params.n, profile.parallel_workgroups);
    GemmPlan::new(params.unsplit(), tile)
}

/// The plan of a GPU: enough workgroups first, then the least cost.
fn plan_for_gpu(params: Params, epilogue: Epilogue, profile: &LaunchProfile) -> GemmPlan {
    let whole = params.unsplit();
    let shapes = Tile::SHAPES.map(|shape| blocks_for(shape, params.k));
    let enough = |plan: &GemmPlan| plan.workgroups() >= u64::from(profile.min_workgroups);
    let unsplit = shapes.map(|tile| GemmPlan::new(whole, tile));
    if let Some(plan) = cheapest(unsplit.iter().copied().filter(enough)) {
        return plan;
    }
    let split = shapes.map(|tile| split_for_gpu(whole, tile, epilogue, profile));
    if let Some(plan) = cheapest(split.iter().copied().filter(enough)) {
        return plan;
    }
    // Neither reaches the minimum: the most workgroups, the cheaper on ties.
    let best = split
        .into_iter()
        .chain(unsplit)
        .min_by_key(|plan| (std::cmp::Reverse(plan.workgroups()), plan.cost()));
    best.unwrap_or_else(|| GemmPlan::new(whole, Tile::default()))
}

/// The longest k a GPU's plan runs in 4 × 4 blocks per thread (a pass or two of the k loop,
/// where staging dominates).
const SHORT_K: u32 = 2 * TILE_K;

/// `shape` in 8 × 8 blocks per thread unless `k` is [`SHORT_K`] or shorter.
fn blocks_for(shape: Tile, k: u32) -> Tile {
    if k <= SHORT_K {
        shape
    } else {
        shape.in_large_blocks()
    }
}

/// The cheapest of `plans`, the first (larger tile) of equal cost.
fn cheapest(plans: impl Iterator<Item = GemmPlan>) -> Option<GemmPlan> {
    plans.min_by_key(GemmPlan::cost)
}

/// `params` in tiles of `tile`, split over k into about enough splits to give
/// `target_workgroups` workgroups, each summing at least [`GPU_MIN_SPLIT_K`] terms, as far as the
/// partials fit one storage binding and the grid's z axis.
fn split_for_gpu(
    params: Params,
    tile: Tile,
    epilogue: Epilogue,
    profile: &LaunchProfile,
) -> GemmPlan {
    let tiles = tile.count(params.m, params.n).max(1);
    // One more row of partials holds each split's column sums.
    let rows = u64::from(params.m) + u64::from(epilogue == Epilogue::ColumnSums);
    let partial_bytes = (rows * u64::from(params.n) * 4).max(1);
    let fit = (profile.max_storage_binding_size / partial_bytes)
        .min(u64::from(profile.max_workgroups_per_dimension));
    let most = u32::try_from(fit).unwrap_or(u32::MAX);
    // `bias.backward` sums such partials in one row of workgroups, a column group each.
    let columns = rows * u64::from(params.n);
    let sum_groups = columns.div_ceil(u64::from(bias::COLS_PER_GROUP));
    if sums_in_bias_backward(epilogue)
        && sum_groups > u64::from(profile.max_workgroups_per_dimension)
    {
        return GemmPlan::new(params, tile);
    }
    let wanted = profile
        .target_workgroups
        .div_ceil(tiles)
        .min(GPU_MAX_SPLITS)
        .min(params.k / GPU_MIN_SPLIT_K)
        .min(most);
    if wanted <= 1 {
        return GemmPlan::new(params, tile);
    }
    // Whole k slices per split: rounded down, so the splits reach `wanted` (at most 1.5 times
    // as many), but never so many that they overflow what fits.
    let slices = params.k.div_ceil(TILE_K);
    let per_split = (slices / wanted)
        .max(GPU_MIN_SPLIT_K / TILE_K)
        .max(slices.div_ceil(most));
    GemmPlan::new(params.split_into(per_split * TILE_K), tile)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::activation::Function;

    fn gpu(m: u32, n: u32, k: u32, epilogue: Epilogue) -> GemmPlan {
        let params = Params::new(m as usize, n as usize, k as usize);
        plan(params, epilogue, &LaunchProfile::big_gpu())
    }

    #[test]
    fn a_cpu_adapter_takes_the_cheapest_tile_and_never_splits() {
        let cpu = LaunchProfile::lavapipe();
        let params = Params::new(9, 32, 43_264);
        for epilogue in [
            Epilogue::ColumnSums,
            Epilogue::None,
            Epilogue::Bias,
            Epilogue::ReluMask,
        ] {
            let plan = plan(params, epilogue, &cpu);
            assert_eq!(plan.tile, Tile::for_product(9, 32, 2), "{epilogue:?}");
            assert_eq!((plan.params, plan.splits()), (params, 1), "{epilogue:?}");
            assert_eq!(plan.workgroups(), 1, "{epilogue:?}");
        }
    }

    #[test]
    fn a_gpu_takes_the_cheapest_tile_that_gives_enough_workgroups_alone() {
        // 7,744 × 64: 121 tiles of 64 × 64 are too few; 32 × 64 gives 242 (and stages less
        // of A than 64 × 32, which gives as many).
        let plan = gpu(7_744, 64, 288, Epilogue::BiasActivation(Function::Relu));
        assert_eq!(plan.tile, Tile::M32_N64.in_large_blocks());
        assert_eq!((plan.splits(), plan.workgroups()), (1, 242));
        // 43,264 × 32 over 9 taps: the cost model's tile already gives 676.
        let plan = gpu(43_264, 32, 9, Epilogue::BiasActivation(Function::Relu));
        assert_eq!((plan.tile, plan.workgroups()), (Tile::M64_N32, 676));
    }

    #[test]
    fn a_gpu_splits_k_of_any_epilogue_when_tiles_alone_are_too_few() {
        // dense.forward at batch 32: 8 tiles of 16 × 32, 25 splits of 32 terms.
        let plan = gpu(32, 128, 784, Epilogue::BiasActivation(Function::Relu));
        assert_eq!(plan.tile, Tile::M16_N32.in_large_blocks());
        assert_eq!((plan.params.k_chunk, plan.splits()), (32, 25));
        assert_eq!(plan.workgroups(), 200);
        // One tile summed over 43,264 terms: about the target, in 16 × 32 tiles.
        let plan = gpu(9, 32, 43_264, Epilogue::ColumnSums);
        assert!(plan.splits() >= 256, "{plan:?}");
        assert!(plan.params.k_chunk >= GPU_MIN_SPLIT_K);
    }

    #[test]
    fn a_gpu_plan_short_of_the_minimum_takes_the_most_workgroups() {
        let plan = gpu(1, 1, 1, Epilogue::Bias);
        assert_eq!((plan.tile, plan.workgroups()), (Tile::M16_N32, 1));
        // 4 tiles of 16 × 32 in 2 splits of 32 terms: 8 workgroups, the most there are.
        let plan = gpu(64, 10, 64, Epilogue::None);
        assert_eq!(plan.tile, Tile::M16_N32.in_large_blocks());
        assert_eq!((plan.splits(), plan.workgroups()), (2, 8));
    }

    #[test]
    fn gpu_splits_stay_within_one_binding_and_the_grid() {
        let mut profile = LaunchProfile::big_gpu();
        profile.max_storage_binding_size = 3 * 4 * 9 * 32;
        let params = Params::new(9, 32, 43_264);
        let plan = plan(params, Epilogue::None, &profile);
        assert_eq!(plan.splits(), 3, "{plan:?}");
    }
}
