//! The pipeline cache: every WGSL kernel gpu-cnn has, built once per (kernel, override
//! constants) from the source compiled into the binary.
//!
//! Bind-group contract (DESIGN.md): group 0 binding 0 is the kernel's uniform `Params`, then
//! its read-only storage inputs, then its outputs, in the order [`Kernel::storage`] lists.
//! Kernels that read the per-step table take it as group 1 binding 0 with a dynamic offset.
//!
//! Shared WGSL: WGSL has no includes, so formulas that several kernels apply (the activation
//! functions, in `activation.*` and the GEMM epilogues) live once in a [`Library`] file, and a
//! kernel's source is its libraries' text followed by its own file, concatenated as they are
//! (no templating). A kernel's own file then validates only after its libraries (DESIGN.md has
//! each file validate alone; this is the one departure, to keep one copy of each formula).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::step_table::StepParams;
use super::GpuError;

/// How a kernel uses one of its storage bindings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// `var<storage, read>`.
    Read,
    /// `var<storage, read_write>`.
    ReadWrite,
}

/// Every compute kernel of gpu-cnn, one per `.wgsl` file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// `shaders/gather/forward.wgsl`: u8 images + sample indices → normalised f32 batch.
    GatherForward,
    /// `shaders/matmul/forward.wgsl`: tiled `C = op(A)·op(B)` with a fused epilogue.
    MatmulForward,
    /// `shaders/matmul/sum_splits.wgsl`: split-K partials summed in order, then the epilogue.
    MatmulSumSplits,
    /// `shaders/bias/backward.wgsl`: column sums of an output gradient.
    BiasBackward,
    /// `shaders/pool2d/forward.wgsl`: max or average pooling.
    Pool2dForward,
    /// `shaders/pool2d/backward_input.wgsl`: pooling's input gradient.
    Pool2dBackwardInput,
    /// `shaders/softmax_xent/forward.wgsl`: loss, correct count and logits gradient.
    SoftmaxXentForward,
    /// `shaders/softmax/forward.wgsl`: class probabilities for prediction.
    SoftmaxForward,
    /// `shaders/adam/step.wgsl`: one Adam (or AdamW) update over the whole parameter slab.
    AdamStep,
    /// `shaders/sgd/step.wgsl`: one SGD update (momentum, Nesterov) over the whole slab.
    SgdStep,
    /// `shaders/rmsprop/step.wgsl`: one RMSprop update over the whole slab.
    RmspropStep,
    /// `shaders/activation/forward.wgsl`: an elementwise activation function.
    ActivationForward,
    /// `shaders/activation/backward_input.wgsl`: an activation's input gradient.
    ActivationBackwardInput,
    /// `shaders/dropout/forward.wgsl`: inverted dropout with a counter-based mask.
    DropoutForward,
    /// `shaders/batch_normalization/forward.wgsl`: batch or moving-statistics normalisation.
    BatchNormalizationForward,
    /// `shaders/batch_normalization/backward.wgsl`: input, gamma and beta gradients.
    BatchNormalizationBackward,
}

use Access::{Read, ReadWrite};

/// A file of WGSL functions and override constants that several kernels share, put before
/// their own source ([`Kernel::source`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Library {
    /// `shaders/activation/functions.wgsl`: every activation function and its derivative,
    /// chosen by the `ACTIVATION` and `NEGATIVE_SLOPE` overrides.
    ActivationFunctions,
    /// `shaders/optim/update.wgsl`: the optimizer kernels' bindings, step table and the store
    /// that records the first non-finite parameter.
    OptimUpdate,
}

impl Library {
    /// Every library.
    pub const ALL: [Library; 2] = [Self::ActivationFunctions, Self::OptimUpdate];

    /// Its path below `shaders/`.
    pub fn path(self) -> &'static str {
        match self {
            Self::ActivationFunctions => "activation/functions.wgsl",
            Self::OptimUpdate => "optim/update.wgsl",
        }
    }

    /// Its WGSL, compiled into the binary.
    pub fn source(self) -> &'static str {
        match self {
            Self::ActivationFunctions => include_str!("../../shaders/activation/functions.wgsl"),
            Self::OptimUpdate => include_str!("../../shaders/optim/update.wgsl"),
        }
    }
}

impl Kernel {
    /// The wgpu label, `op.pass`.
    pub fn label(self) -> &'static str {
        match self {
            Self::GatherForward => "gather.forward",
            Self::MatmulForward => "matmul.forward",
            Self::MatmulSumSplits => "matmul.sum_splits",
            Self::BiasBackward => "bias.backward",
            Self::Pool2dForward => "pool2d.forward",
            Self::Pool2dBackwardInput => "pool2d.backward_input",
            Self::SoftmaxXentForward => "softmax_xent.forward",
            Self::SoftmaxForward => "softmax.forward",
            Self::AdamStep => "adam.step",
            Self::SgdStep => "sgd.step",
            Self::RmspropStep => "rmsprop.step",
            Self::ActivationForward => "activation.forward",
            Self::ActivationBackwardInput => "activation.backward_input",
            Self::DropoutForward => "dropout.forward",
            Self::BatchNormalizationForward => "batch_normalization.forward",
            Self::BatchNormalizationBackward => "batch_normalization.backward",
        }
    }

    /// The WGSL entry point, `op_pass`.
    pub fn entry_point(self) -> &'static str {
        match self {
            Self::GatherForward => "gather_forward",
            Self::MatmulForward => "matmul_forward",
            Self::MatmulSumSplits => "matmul_sum_splits",
            Self::BiasBackward => "bias_backward",
            Self::Pool2dForward => "pool2d_forward",
            Self::Pool2dBackwardInput => "pool2d_backward_input",
            Self::SoftmaxXentForward => "softmax_xent_forward",
            Self::SoftmaxForward => "softmax_forward",
            Self::AdamStep => "adam_step",
            Self::SgdStep => "sgd_step",
            Self::RmspropStep => "rmsprop_step",
            Self::ActivationForward => "activation_forward",
            Self::ActivationBackwardInput => "activation_backward_input",
            Self::DropoutForward => "dropout_forward",
            Self::BatchNormalizationForward => "batch_normalization_forward",
            Self::BatchNormalizationBackward => "batch_normalization_backward",
        }
    }

    /// The libraries its source starts with.
    pub fn libraries(self) -> &'static [Library] {
        match self {
            Self::MatmulForward
            | Self::MatmulSumSplits
            | Self::ActivationForward
            | Self::ActivationBackwardInput => &[Library::ActivationFunctions],
            Self::AdamStep | Self::SgdStep | Self::RmspropStep => &[Library::OptimUpdate],
            _ => &[],
        }
    }

    /// The whole WGSL source: its libraries' text, then its own file.
    pub fn source(self) -> Cow<'static, str> {
        match self.libraries() {
            [] => Cow::Borrowed(self.file()),
            libraries => {
                let mut source: String = libraries.iter().map(|library| library.source()).collect();
                source.push_str(self.file());
                Cow::Owned(source)
            }
        }
    }

    /// The kernel's own file, `shaders/op/pass.wgsl`, compiled into the binary.
    pub fn file(self) -> &'static str {
        match self {
            Self::GatherForward => include_str!("../../shaders/gather/forward.wgsl"),
            Self::MatmulForward => include_str!("../../shaders/matmul/forward.wgsl"),
            Self::MatmulSumSplits => include_str!("../../shaders/matmul/sum_splits.wgsl"),
            Self::BiasBackward => include_str!("../../shaders/bias/backward.wgsl"),
            Self::Pool2dForward => include_str!("../../shaders/pool2d/forward.wgsl"),
            Self::Pool2dBackwardInput => {
                include_str!("../../shaders/pool2d/backward_input.wgsl")
            }
            Self::SoftmaxXentForward => include_str!("../../shaders/softmax_xent/forward.wgsl"),
            Self::SoftmaxForward => include_str!("../../shaders/softmax/forward.wgsl"),
            Self::AdamStep => include_str!("../../shaders/adam/step.wgsl"),
            Self::SgdStep => include_str!("../../shaders/sgd/step.wgsl"),
            Self::RmspropStep => include_str!("../../shaders/rmsprop/step.wgsl"),
            Self::ActivationForward => include_str!("../../shaders/activation/forward.wgsl"),
            Self::ActivationBackwardInput => {
                include_str!("../../shaders/activation/backward_input.wgsl")
            }
            Self::DropoutForward => include_str!("../../shaders/dropout/forward.wgsl"),
            Self::BatchNormalizationForward => {
                include_str!("../../shaders/batch_normalization/forward.wgsl")
            }
            Self::BatchNormalizationBackward => {
                include_str!("../../shaders/batch_normalization/backward.wgsl")
            }
        }
    }

    /// The storage bindings after the uniform `Params` (bindings 1, 2, ...).
    pub fn storage(self) -> &'static [Access] {
        match self {
            // images, labels, indices → batch, batch labels
            Self::GatherForward => &[Read, Read, Read, ReadWrite, ReadWrite],
            // a, b, bias, mask → c, column sums, pooled
            Self::MatmulForward => &[Read, Read, Read, Read, ReadWrite, ReadWrite, ReadWrite],
            // partials, bias, mask → c
            Self::MatmulSumSplits => &[Read, Read, Read, ReadWrite],
            // gradient → bias gradient
            Self::BiasBackward => &[Read, ReadWrite, ReadWrite],
            // x → y
            Self::Pool2dForward => &[Read, ReadWrite],
            // x, dy (or a column gradient) → dx
            Self::Pool2dBackwardInput => &[Read, Read, ReadWrite],
            // logits, labels → logits gradient, metrics
            Self::SoftmaxXentForward => &[
                ReadWrite, Read, ReadWrite, ReadWrite, Read, Read, ReadWrite, ReadWrite,
            ],
            // logits → probabilities
            Self::SoftmaxForward => &[Read, ReadWrite],
            // gradients → parameters, m, v, first non-finite parameter
            Self::AdamStep | Self::SgdStep | Self::RmspropStep => {
                &[Read, ReadWrite, ReadWrite, ReadWrite, ReadWrite]
            }
            // x → y
            Self::ActivationForward => &[Read, ReadWrite],
            // x, dy → dx
            Self::ActivationBackwardInput => &[Read, Read, ReadWrite],
            // x → y
            Self::DropoutForward => &[Read, ReadWrite],
            // dy → dx
            // x, gamma, beta → moving_mean, moving_variance, saved, y
            Self::BatchNormalizationForward => {
                &[Read, Read, Read, ReadWrite, ReadWrite, ReadWrite, ReadWrite]
            }
            // x, dy, gamma, saved → dx, gamma_grad, beta_grad
            Self::BatchNormalizationBackward => {
                &[Read, Read, Read, Read, ReadWrite, ReadWrite, ReadWrite]
            }
        }
    }

    /// Whether the kernel reads the per-step table (group 1).
    pub fn uses_step_table(self) -> bool {
        matches!(
            self,
            Self::GatherForward
                | Self::SoftmaxXentForward
                | Self::SoftmaxForward
                | Self::AdamStep
                | Self::SgdStep
                | Self::RmspropStep
                | Self::DropoutForward
                | Self::BatchNormalizationForward
                | Self::BatchNormalizationBackward
        )
    }

    /// The kernel whose [`Kernel::label`] is `label`, if any.
    pub fn from_label(label: &str) -> Option<Kernel> {
        Self::ALL.into_iter().find(|kernel| kernel.label() == label)
    }

    /// Every kernel, for validation and warm-up.
    pub const ALL: [Kernel; 16] = [
        Self::GatherForward,
        Self::MatmulForward,
        Self::MatmulSumSplits,
        Self::BiasBackward,
        Self::Pool2dForward,
        Self::Pool2dBackwardInput,
        Self::SoftmaxXentForward,
        Self::SoftmaxForward,
        Self::AdamStep,
        Self::SgdStep,
        Self::RmspropStep,
        Self::ActivationForward,
        Self::ActivationBackwardInput,
        Self::DropoutForward,
        Self::BatchNormalizationForward,
        Self::BatchNormalizationBackward,
    ];
}

/// A kernel's override constants as a typed value: each kernel with `override`s has a struct
/// (or enum) naming them, and only this trait turns it into wgpu's (name, value) pairs.
pub trait Overrides {
    /// The WGSL `override` names and their values.
    fn constants(&self) -> Vec<(&'static str, f64)>;
}

/// No override constants.
impl Overrides for () {
    fn constants(&self) -> Vec<(&'static str, f64)> {
        Vec::new()
    }
}

/// A WGSL `override` flag's value.
pub fn flag(on: bool) -> f64 {
    f64::from(u8::from(on))
}

type PipelineKey = (Kernel, Vec<(&'static str, u64)>);

/// Pipelines and layouts, each built once and shared by every network on a device.
pub struct KernelCache {
    layouts: HashMap<Kernel, wgpu::BindGroupLayout>,
    step_layout: wgpu::BindGroupLayout,
    pipelines: Mutex<HashMap<PipelineKey, Arc<wgpu::ComputePipeline>>>,
    modules: Mutex<HashMap<Kernel, Arc<wgpu::ShaderModule>>>,
}

fn storage_entry(binding: u32, access: Access) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Storage {
                read_only: access == Access::Read,
            },
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

fn uniform_entry(binding: u32, dynamic: Option<u64>) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: dynamic.is_some(),
            min_binding_size: dynamic.and_then(wgpu::BufferSize::new),
        },
        count: None,
    }
}

impl KernelCache {
    /// Creates the bind group layouts of every kernel; pipelines are built on first use.
    pub fn new(device: &wgpu::Device) -> Self {
        let layouts = Kernel::ALL
            .iter()
            .map(|&kernel| {
                let mut entries = vec![uniform_entry(0, None)];
                entries.extend(
                    kernel
                        .storage()
                        .iter()
                        .enumerate()
                        .map(|(i, &access)| storage_entry(i as u32 + 1, access)),
                );
                let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                    label: Some(kernel.label()),
                    entries: &entries,
                });
                (kernel, layout)
            })
            .collect();
        let step_size = std::mem::size_of::<StepParams>() as u64;
        let step_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("step_table"),
            entries: &[uniform_entry(0, Some(step_size))],
        });
        Self {
            layouts,
            step_layout,
            pipelines: Mutex::new(HashMap::new()),
            modules: Mutex::new(HashMap::new()),
        }
    }

    /// The layout of a kernel's group 0.
    pub fn layout(&self, kernel: Kernel) -> &wgpu::BindGroupLayout {
        &self.layouts[&kernel]
    }

    /// The layout of the per-step table (group 1).
    pub fn step_layout(&self) -> &wgpu::BindGroupLayout {
        &self.step_layout
    }

    /// Replaces `kernel`'s own file with `file` (read from `origin`, which error messages
    /// name) for every pipeline built from now on: its libraries are still put before it, as
    /// [`Kernel::source`] does. A developer's hook for trying a changed kernel without
    /// rebuilding (`gpu-cnn selftest --kernel-source`). The source is compiled at once inside a
    /// validation error scope, so WGSL that does not parse or validate is an error naming
    /// `origin`, not a later uncaptured one; pipelines already built from the old source are
    /// dropped (dispatches made before keep theirs).
    pub fn replace_source(
        &self,
        device: &wgpu::Device,
        kernel: Kernel,
        origin: &str,
        file: &str,
    ) -> Result<(), GpuError> {
        let mut source: String = kernel.libraries().iter().map(|l| l.source()).collect();
        let library_lines = source.lines().count();
        source.push_str(file);
        let (module, error) = super::caught(device, &[wgpu::ErrorFilter::Validation], || {
            device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(kernel.label()),
                source: wgpu::ShaderSource::Wgsl(Cow::Owned(source)),
            })
        });
        if let Some(error) = error {
            let libraries = match library_lines {
                0 => String::new(),
                n => format!(" (line numbers count the {n} lines of its libraries first)"),
            };
            return Err(GpuError::Wgpu {
                context: format!("{origin}, given as the source of {}", kernel.label()),
                message: format!("{error}{libraries}"),
            });
        }
        // Pipelines, then modules: the order `pipeline` takes the two locks in.
        let mut pipelines = self.pipelines.lock().unwrap_or_else(|e| e.into_inner());
        pipelines.retain(|(built, _), _| *built != kernel);
        let mut modules = self.modules.lock().unwrap_or_else(|e| e.into_inner());
        modules.insert(kernel, Arc::new(module));
        Ok(())
    }

    fn module(&self, device: &wgpu::Device, kernel: Kernel) -> Arc<wgpu::ShaderModule> {
        let mut modules = self.modules.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(modules.entry(kernel).or_insert_with(|| {
            Arc::new(device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(kernel.label()),
                source: wgpu::ShaderSource::Wgsl(kernel.source()),
            }))
        }))
    }

    /// Every pipeline built so far, as its kernel and override constants (sorted): the
    /// variants a model's plans use, for checking each in other shading languages.
    pub fn variants(&self) -> Vec<(Kernel, Vec<(&'static str, f64)>)> {
        let pipelines = self.pipelines.lock().unwrap_or_else(|e| e.into_inner());
        let mut keys: Vec<&PipelineKey> = pipelines.keys().collect();
        keys.sort_by_key(|(kernel, constants)| (kernel.label(), constants.clone()));
        keys.into_iter()
            .map(|(kernel, constants)| {
                let values = constants
                    .iter()
                    .map(|&(name, bits)| (name, f64::from_bits(bits)))
                    .collect();
                (*kernel, values)
            })
            .collect()
    }

    /// The pipeline of `kernel` with these override constants, built on first request.
    pub fn pipeline(
        &self,
        device: &wgpu::Device,
        kernel: Kernel,
        overrides: &dyn Overrides,
        cache: Option<&wgpu::PipelineCache>,
    ) -> Arc<wgpu::ComputePipeline> {
        let constants = overrides.constants();
        let key = (
            kernel,
            constants
                .iter()
                .map(|&(name, value)| (name, value.to_bits()))
                .collect(),
        );
        let mut pipelines = self.pipelines.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(pipeline) = pipelines.get(&key) {
            return Arc::clone(pipeline);
        }
        let module = self.module(device, kernel);
        let layout_group0 = Some(self.layout(kernel));
        let groups: &[Option<&wgpu::BindGroupLayout>] = if kernel.uses_step_table() {
            &[layout_group0, Some(&self.step_layout)]
        } else {
            &[layout_group0]
        };
        let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some(kernel.label()),
            bind_group_layouts: groups,
            immediate_size: 0,
        });
        let pipeline = Arc::new(
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(kernel.label()),
                layout: Some(&layout),
                module: &module,
                entry_point: Some(kernel.entry_point()),
                compilation_options: wgpu::PipelineCompilationOptions {
                    constants: &constants,
                    zero_initialize_workgroup_memory: false,
                },
                cache,
            }),
        );
        pipelines.insert(key, Arc::clone(&pipeline));
        pipeline
    }
}
