//! The GEMM launches of the presets' training plans, planned for a device profile with no
//! device: on a big GPU (an H200) every GEMM of more than 1 MFLOP launches at least 128
//! workgroups; on lavapipe the tiles and splits are those the trained-weight digests were
//! recorded with (`tests/preset_digests.rs`).

use gpu_cnn::gpu::LaunchProfile;
use gpu_cnn::layers::activation::Function;
use gpu_cnn::layers::matmul::{Epilogue, Tile};
use gpu_cnn::model::plan::{gemm_launches, head, nodes, schedule, Fusion, GemmLaunch};
use gpu_cnn::model::presets::{preset, NAMES};
use gpu_cnn::model::shape::infer;

/// A GEMM of more than this many floating-point operations must fill a big GPU.
const BIG_GEMM_FLOPS: u64 = 1_000_000;
/// Fewest workgroups such a GEMM launches on a big GPU.
const FEWEST_WORKGROUPS: u64 = 128;

/// The GEMM launches of one training step of preset `name` at batch `rows`, planned for
/// `profile`, and the head's `2·rows·inputs·units` (the loss launch runs it), if it has one.
fn training_launches(
    name: &str,
    rows: usize,
    profile: &LaunchProfile,
) -> (Vec<GemmLaunch>, Option<u64>) {
    let layers = infer(&preset(name).expect("preset")).expect("shapes");
    let nodes = nodes(&layers, rows).expect("nodes");
    let steps = schedule(&nodes, true, Fusion::ALL);
    let head = head(&nodes, &steps, true, Fusion::ALL);
    let head_flops = head
        .and_then(|h| nodes[h].op.head_shape())
        .map(|shape| 2 * (shape.rows * shape.inputs * shape.units) as u64);
    let launches = gemm_launches(&nodes, &steps, head, true, profile);
    (launches, head_flops)
}

/// One line per launch: label, m×n×k, MFLOP, tile, splits, workgroups.
fn table(launches: &[GemmLaunch]) -> String {
    let mut lines = vec![format!(
        "{:<26} {:>20} {:>8} {:>10} {:>6} {:>6}",
        "launch", "m×n×k", "MFLOP", "tile", "splits", "groups"
    )];
    for launch in launches {
        let (params, plan) = (&launch.gemm.params, &launch.plan);
        let (block_rows, block_cols) = plan.tile.block();
        let tile = format!(
            "{}×{}/{block_rows}×{block_cols}",
            plan.tile.rows(),
            plan.tile.cols(),
        );
        lines.push(format!(
            "{:<26} {:>20} {:>8.2} {:>10} {:>6} {:>6}",
            launch.label,
            format!("{}×{}×{}", params.m, params.n, params.k),
            launch.flops() as f64 / 1e6,
            tile,
            plan.splits(),
            plan.workgroups()
        ));
    }
    lines.join("\n")
}

/// Asserts every GEMM of more than 1 MFLOP has at least 128 workgroups on a big GPU, and that
/// the head (run inside the loss launch, not as a GEMM launch) is under 1 MFLOP.
fn check_fills_a_big_gpu(name: &str, rows: usize, expected_launches: usize) {
    let (launches, head_flops) = training_launches(name, rows, &LaunchProfile::big_gpu());
    let table = table(&launches);
    println!("{name} at batch {rows}, training, on a big GPU:\n{table}");
    assert_eq!(launches.len(), expected_launches, "{name}:\n{table}");
    let starved: Vec<&str> = launches
        .iter()
        .filter(|launch| {
            launch.flops() > BIG_GEMM_FLOPS && launch.plan.workgroups() < FEWEST_WORKGROUPS
        })
        .map(|launch| launch.label.as_str())
        .collect();
    assert!(
        starved.is_empty(),
        "{name}: {starved:?} do more than 1 MFLOP in fewer than {FEWEST_WORKGROUPS} \
         workgroups:\n{table}"
    );
    // The classifier head is no GEMM launch: the loss launch runs it in one workgroup, which
    // is only right while it stays small.
    let head_flops = head_flops.expect("the last Dense layer runs as the loss launch's head");
    assert!(
        head_flops < BIG_GEMM_FLOPS,
        "{name}: the head does {head_flops} flops in the loss launch's one workgroup"
    );
    println!("head (inside the loss launch): {head_flops} flops, under 1 MFLOP");
}

#[test]
fn cnn_gemms_over_1_mflop_launch_at_least_128_workgroups_on_a_big_gpu() {
    // Three convolutions (the first has no input gradient) and one hidden Dense layer.
    check_fills_a_big_gpu("cnn", 64, 4 + 4 + 3);
}

#[test]
fn dense_gemms_over_1_mflop_launch_at_least_128_workgroups_on_a_big_gpu() {
    // One hidden Dense layer over the batch itself: no input gradient.
    check_fills_a_big_gpu("dense", 32, 2);
}

/// The launch labelled `label`.
fn find<'a>(launches: &'a [GemmLaunch], label: &str) -> &'a GemmLaunch {
    launches
        .iter()
        .find(|launch| launch.label == label)
        .unwrap_or_else(|| panic!("no launch {label}:\n{}", table(launches)))
}

#[test]
fn lavapipe_takes_the_cost_models_tiles_and_never_splits() {
    // Every preset at a few batch sizes: the cost model's tile in rounds of two workgroups.
    let batches = [7, 32, 64];
    let every = NAMES
        .iter()
        .flat_map(|&name| batches.map(|rows| (name, rows)));
    for (name, rows) in every {
        let (launches, _) = training_launches(name, rows, &LaunchProfile::lavapipe());
        for launch in &launches {
            let params = launch.gemm.params;
            let tile = Tile::for_product(params.m, params.n, 2);
            assert_eq!(
                (launch.plan.tile, launch.plan.params),
                (tile, params.unsplit()),
                "{name} at batch {rows}: {}",
                launch.label
            );
        }
    }
    let (cnn, _) = training_launches("cnn", 64, &LaunchProfile::lavapipe());
    let large = Tile::in_large_blocks;
    let tall = Tile::in_tall_blocks;
    let pinned = [
        ("conv2d.forward", large(Tile::M64_N32), 1),
        ("conv2d.backward_weight", large(Tile::M16_N32), 1),
        ("conv2d_1.forward", tall(Tile::M64_N64), 1),
        ("conv2d_1.backward_input", tall(Tile::M64_N64), 1),
        ("conv2d_1.backward_weight", tall(Tile::M32_N64), 1),
        ("conv2d_2.forward", tall(Tile::M64_N64), 1),
        // Two 32 × 64 tiles for lavapipe's two cores, not one 64 × 64.
        ("dense.forward", tall(Tile::M32_N64), 1),
        ("dense.backward_input", tall(Tile::M64_N64), 1),
    ];
    for (label, tile, splits) in pinned {
        let plan = find(&cnn, label).plan;
        assert_eq!((plan.tile, plan.splits()), (tile, splits), "cnn {label}");
    }
    let (dense, _) = training_launches("dense", 32, &LaunchProfile::lavapipe());
    let forward = find(&dense, "dense.forward");
    assert_eq!(forward.epilogue, Epilogue::BiasActivation(Function::Relu));
    assert_eq!(
        (forward.plan.tile, forward.plan.splits()),
        (tall(Tile::M32_N64), 1)
    );
    let weight = find(&dense, "dense.backward_weight").plan;
    assert_eq!((weight.tile, weight.splits()), (tall(Tile::M64_N64), 1));
}

#[test]
fn a_big_gpu_splits_forward_and_input_gradients_that_tiles_cannot_fill() {
    let (cnn, _) = training_launches("cnn", 64, &LaunchProfile::big_gpu());
    for (label, epilogue) in [
        ("conv2d_2.forward", Epilogue::BiasActivation(Function::Relu)),
        ("dense.forward", Epilogue::BiasActivation(Function::Relu)),
        ("dense.backward_input", Epilogue::ReluMask),
    ] {
        let launch = find(&cnn, label);
        assert_eq!(launch.epilogue, epilogue, "{label}");
        assert!(launch.plan.splits() > 1, "{label}: {:?}", launch.plan);
    }
    let (dense, _) = training_launches("dense", 32, &LaunchProfile::big_gpu());
    assert!(find(&dense, "dense.forward").plan.splits() > 1);
}

#[test]
fn cnn_poolings_run_in_their_convolutions_forward_launches() {
    let layers = infer(&preset("cnn").expect("preset")).expect("shapes");
    let nodes = nodes(&layers, 64).expect("nodes");
    for training in [true, false] {
        let steps = schedule(&nodes, training, Fusion::ALL);
        let folded: Vec<(&str, &str)> = steps
            .iter()
            .enumerate()
            .filter_map(|(i, step)| {
                Some((
                    nodes[i].label.as_str(),
                    nodes[step.pools_into?].label.as_str(),
                ))
            })
            .collect();
        assert_eq!(
            folded,
            [("conv2d", "max_pooling2d"), ("conv2d_1", "max_pooling2d_1")],
            "training {training}"
        );
        for (step, node) in steps.iter().zip(&nodes) {
            let is_pool = node.label.starts_with("max_pooling2d");
            assert_eq!(step.forward_in_producer, is_pool, "{}", node.label);
        }
        let plain = schedule(&nodes, training, Fusion::NONE);
        assert!(plain
            .iter()
            .all(|s| s.pools_into.is_none() && !s.forward_in_producer));
    }
    // The folded forward GEMMs run over whole windows only: conv2d_1's 11 × 11 output has
    // 5 × 5 windows, so 64 · 25 · 4 rows instead of 64 · 121.
    let (launches, _) = training_launches("cnn", 64, &LaunchProfile::lavapipe());
    let forward = find(&launches, "conv2d_1.forward");
    assert_eq!(
        (forward.gemm.params.m, forward.gemm.params.pooled_h),
        (6_400, 5)
    );
}
