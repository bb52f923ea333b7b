//! Every kernel variant the presets' plans use, translated by naga to the shading languages of
//! the backends that cannot run here: MSL (Metal), HLSL (DX12) and SPIR-V (Vulkan drivers).
//!
//! The variants are read from the device's pipeline cache after building the training and
//! evaluation plans of every preset, with this adapter's launch profile and with a big GPU's
//! (split-k sums, other tiles), so each override-constant set a user's device may compile is
//! here. Each is specialised with its constants, validated again, and written by each backend;
//! a translation error names the kernel, its constants and the language.

mod common;

use common::{bundled_subset, context};
use gpu_cnn::data::MnistSplits;
use gpu_cnn::gpu::{GpuContext, Kernel, LaunchProfile};
use gpu_cnn::model::presets::{preset, NAMES};
use gpu_cnn::optim::adam::AdamWConfig;
use gpu_cnn::optim::rmsprop::RmspropConfig;
use gpu_cnn::optim::sgd::SgdConfig;
use gpu_cnn::optim::OptimizerConfig;
use gpu_cnn::train::{TrainConfig, Trainer};
use naga::back::{hlsl, msl, pipeline_constants, spv, PipelineConstants};
use naga::valid::{Capabilities, ModuleInfo, ValidationFlags, Validator};
use naga::{Module, ShaderStage};

/// Builds every preset's training and evaluation plans on `ctx` (the lecture's batch sizes,
/// 32 and 64, with Adam), and `dense`'s with every other optimizer and its variants, so that
/// its pipeline cache holds every variant they use.
fn build_every_preset(ctx: &GpuContext, data: &MnistSplits) {
    let build = |name: &str, batch_size: usize, optimizer: OptimizerConfig| {
        let config = TrainConfig {
            epochs: 1,
            batch_size,
            validation_split: 0.25,
            optimizer,
            ..TrainConfig::default()
        };
        Trainer::new(ctx, preset(name).expect("preset"), data, config).expect("trainer");
    };
    for name in NAMES {
        for batch_size in [32, 64] {
            build(name, batch_size, OptimizerConfig::default());
        }
    }
    let sgd = |momentum, nesterov| {
        OptimizerConfig::Sgd(SgdConfig {
            momentum,
            nesterov,
            ..SgdConfig::default()
        })
    };
    let rmsprop = |momentum| {
        OptimizerConfig::Rmsprop(RmspropConfig {
            momentum,
            ..RmspropConfig::default()
        })
    };
    for optimizer in [
        sgd(0.0, false),
        sgd(0.9, false),
        sgd(0.9, true),
        rmsprop(0.0),
        rmsprop(0.5),
        OptimizerConfig::Adamw(AdamWConfig::default()),
    ] {
        build("dense", 32, optimizer);
    }
}

/// `module` validated, or a panic naming `what`.
fn validate(module: &Module, what: &str) -> ModuleInfo {
    Validator::new(ValidationFlags::all(), Capabilities::all())
        .validate(module)
        .unwrap_or_else(|e| panic!("{what}: does not validate: {e:?}"))
}

/// Translates `kernel` with `constants` to MSL, HLSL and SPIR-V; panics naming the language
/// that fails.
fn translate(kernel: Kernel, constants: &[(&'static str, f64)]) {
    let what = format!("{} {constants:?}", kernel.label());
    let source = kernel.source();
    let module = naga::front::wgsl::parse_str(&source)
        .unwrap_or_else(|e| panic!("{what}: {}", e.emit_to_string(&source)));
    let info = validate(&module, &what);
    let values: PipelineConstants = constants
        .iter()
        .map(|&(name, value)| (name.to_string(), value))
        .collect();
    let entry = (ShaderStage::Compute, kernel.entry_point());
    let (module, info) =
        pipeline_constants::process_overrides(&module, &info, Some(entry), &values)
            .unwrap_or_else(|e| panic!("{what}: overrides: {e:?}"));
    validate(&module, &what);

    let msl_pipeline = msl::PipelineOptions {
        entry_point: Some((ShaderStage::Compute, kernel.entry_point().to_string())),
        ..Default::default()
    };
    // MSL 2.0, the oldest macOS wgpu supports (10.13) has; naga's default (1.0) lacks the bit
    // functions the gather kernel's unpacking uses.
    let msl_options = msl::Options {
        lang_version: (2, 0),
        ..Default::default()
    };
    let (metal, _) = msl::write_string(&module, &info, &msl_options, &msl_pipeline)
        .unwrap_or_else(|e| panic!("{what}: MSL: {e:?}"));
    assert!(
        metal.contains(kernel.entry_point()),
        "{what}: MSL lacks the entry point"
    );

    let hlsl_pipeline = hlsl::PipelineOptions {
        entry_point: Some((ShaderStage::Compute, kernel.entry_point().to_string())),
    };
    let mut direct_x = String::new();
    hlsl::Writer::new(&mut direct_x, &hlsl::Options::default(), &hlsl_pipeline)
        .write(&module, &info, None)
        .unwrap_or_else(|e| panic!("{what}: HLSL: {e:?}"));
    assert!(
        direct_x.contains("[numthreads("),
        "{what}: HLSL lacks its compute entry point"
    );

    let spv_pipeline = spv::PipelineOptions {
        shader_stage: ShaderStage::Compute,
        entry_point: kernel.entry_point().to_string(),
    };
    let words = spv::write_vec(
        &module,
        &info,
        &spv::Options::default(),
        Some(&spv_pipeline),
    )
    .unwrap_or_else(|e| panic!("{what}: SPIR-V: {e:?}"));
    assert_eq!(words.first(), Some(&0x0723_0203), "{what}: SPIR-V magic");
}

#[test]
fn every_kernel_variant_of_every_preset_translates_to_msl_hlsl_and_spirv() {
    let data = bundled_subset(96, 16);
    let mut ctx = context();
    build_every_preset(&ctx, &data);
    ctx.plan_as(LaunchProfile::big_gpu());
    build_every_preset(&ctx, &data);
    let variants = ctx.kernels.variants();
    for kernel in Kernel::ALL {
        assert!(
            variants.iter().any(|(used, _)| *used == kernel),
            "no preset uses {}: build a plan that does",
            kernel.label()
        );
    }
    for (kernel, constants) in &variants {
        translate(*kernel, constants);
    }
    println!("{} variants translated", variants.len());
}
