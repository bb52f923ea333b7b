//! The passes of a layer with a kernel and a bias (dense, conv2d) as launches of the one GEMM:
//! the layer chooses the GEMM sizes and operand [`Layout`] of each pass ([`KernelLayerGemms`]),
//! this module the epilogues and the labels, from the layer's named views. The bias gradient
//! comes with the weight gradient ([`Epilogue::ColumnSums`]). Each GEMM launches as [`plan`]
//! lays it out for the device's profile.

use super::{encode_plan, plan, Epilogue, GemmPlan, Layout, Operands, Params};
use crate::gpu::{Dispatch, GpuContext, GpuError, LaunchProfile};
use crate::layers::activation::Activation;
use crate::layers::layer::{
    BackwardIo, CpuStep, ForwardIo, HeadShape, HostGradients, HostTensors, Op,
};
use crate::layers::Gradients;

/// The GEMM of one pass: its sizes and how it reads its operands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gemm {
    /// Sizes (and convolution geometry).
    pub params: Params,
    /// How A and B are read.
    pub layout: Layout,
}

impl Gemm {
    /// How this GEMM with `epilogue` launches on a device of `profile` ([`plan`]).
    pub fn plan(&self, epilogue: Epilogue, profile: &LaunchProfile) -> GemmPlan {
        plan(self.params, epilogue, profile)
    }

    /// The launches of this GEMM with `epilogue`, as planned for `ctx`'s profile.
    pub fn encode(
        &self,
        ctx: &GpuContext,
        label: &str,
        epilogue: Epilogue,
        operands: Operands<'_>,
    ) -> Result<Vec<Dispatch>, GpuError> {
        let plan = self.plan(epilogue, &ctx.profile());
        encode_plan(ctx, label, &plan, self.layout, epilogue, operands)
    }
}

/// The forward GEMM's epilogue with `activation` fused, if the epilogue can apply it.
pub fn forward_epilogue(activation: Activation) -> Option<Epilogue> {
    match activation {
        Activation::Linear => Some(Epilogue::Bias),
        Activation::Relu => Some(Epilogue::BiasRelu),
        _ => None,
    }
}

/// The weight-gradient GEMM's epilogue: the bias gradient as the column sums of dz.
pub const BACKWARD_WEIGHT_EPILOGUE: Epilogue = Epilogue::ColumnSums;

/// The input-gradient GEMM's epilogue, masked by `x > 0` when the planner fused a ReLU.
pub fn backward_input_epilogue(mask_input: bool) -> Epilogue {
    if mask_input {
        Epilogue::ReluMask
    } else {
        Epilogue::None
    }
}

/// The three GEMMs of a kernel-and-bias layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelLayerGemms {
    /// `y = opA(x) · kernel + bias`.
    pub forward: Gemm,
    /// `dx = opA(dz) · opB(kernel)`.
    pub backward_input: Gemm,
    /// `dkernel = opA(x) · dz`.
    pub backward_weight: Gemm,
}

impl KernelLayerGemms {
    /// The largest k of the three GEMMs.
    pub fn longest_sum(&self) -> u32 {
        [self.forward, self.backward_input, self.backward_weight]
            .iter()
            .map(|gemm| gemm.params.k)
            .max()
            .unwrap_or(0)
    }

    /// `y = act(opA(x) · kernel + bias)`, with ReLU when the planner fused it.
    pub fn encode_forward(
        &self,
        ctx: &GpuContext,
        io: &ForwardIo<'_>,
    ) -> Result<Vec<Dispatch>, GpuError> {
        let label = format!("{}.forward", io.label);
        let Some(epilogue) = forward_epilogue(io.activation) else {
            return Err(GpuError::Wgpu {
                context: label,
                message: format!("the GEMM epilogue cannot apply {}", io.activation),
            });
        };
        let operands = Operands {
            a: io.x.binding.clone(),
            b: io.tensors.get(&label, "kernel")?,
            bias: io.tensors.get(&label, "bias")?,
            mask: io.x.binding.clone(),
            c: io.y.binding.clone(),
            column_sums: None,
        };
        self.forward.encode(ctx, &label, epilogue, operands)
    }

    /// The weight gradient with the bias gradient as its column sums of dz (split over k when
    /// that fills the device better), then the input gradient, masked by `x > 0` when the
    /// planner fused the previous layer's ReLU.
    pub fn encode_backward(
        &self,
        ctx: &GpuContext,
        io: &BackwardIo<'_>,
    ) -> Result<Vec<Dispatch>, GpuError> {
        let label = format!("{}.backward_weight", io.label);
        let operands = Operands {
            a: io.x.binding.clone(),
            b: io.dy.binding.clone(),
            bias: io.x.binding.clone(),
            mask: io.x.binding.clone(),
            c: io.grads.get(&label, "kernel")?,
            column_sums: Some(io.grads.get(&label, "bias")?),
        };
        let mut dispatches =
            self.backward_weight
                .encode(ctx, &label, BACKWARD_WEIGHT_EPILOGUE, operands)?;
        if let Some(dx) = &io.dx {
            let label = format!("{}.backward_input", io.label);
            let kernel = io.tensors.get(&label, "kernel")?;
            let epilogue = backward_input_epilogue(io.mask_input);
            let operands = Operands {
                a: io.dy.binding.clone(),
                bias: kernel.clone(),
                b: kernel,
                mask: io.x.binding.clone(),
                c: dx.binding.clone(),
                column_sums: None,
            };
            dispatches.extend(
                self.backward_input
                    .encode(ctx, &label, epilogue, operands)?,
            );
        }
        Ok(dispatches)
    }
}

/// A layer whose passes are the GEMMs of [`KernelLayerGemms`] over a `kernel` and a `bias`
/// (dense, conv2d): its [`Op`] follows from its GEMMs and its CPU reference.
pub trait KernelLayer {
    /// The layer's three GEMMs.
    fn gemms(&self) -> KernelLayerGemms;
    /// The CPU reference forward, `x · kernel + bias` (no activation: the plan's ReLU node
    /// applies it on the CPU).
    fn reference_forward(&self, x: &[f32], kernel: &[f32], bias: &[f32]) -> Vec<f32>;
    /// The CPU reference backward from the output gradient `dy`.
    fn reference_backward(&self, x: &[f32], kernel: &[f32], dy: &[f32]) -> Gradients;
    /// Its sizes where the loss launch can run it as the classifier head (Dense only).
    fn head_shape(&self) -> Option<HeadShape> {
        None
    }
}

impl<T: KernelLayer> Op for T {
    fn fuses_activation(&self) -> bool {
        true
    }

    fn masks_input_gradient(&self) -> bool {
        true
    }

    fn head_shape(&self) -> Option<HeadShape> {
        KernelLayer::head_shape(self)
    }

    fn kernel_gemms(&self) -> Option<KernelLayerGemms> {
        Some(self.gemms())
    }

    fn encode_forward(
        &self,
        ctx: &GpuContext,
        io: &ForwardIo<'_>,
    ) -> Result<Vec<Dispatch>, GpuError> {
        self.gemms().encode_forward(ctx, io)
    }

    fn encode_backward(
        &self,
        ctx: &GpuContext,
        io: &BackwardIo<'_>,
    ) -> Result<Vec<Dispatch>, GpuError> {
        self.gemms().encode_backward(ctx, io)
    }

    fn cpu_forward(&self, _step: CpuStep, x: &[f32], tensors: &mut HostTensors) -> Vec<f32> {
        self.reference_forward(x, &tensors["kernel"], &tensors["bias"])
    }

    fn cpu_backward(
        &self,
        _step: CpuStep,
        x: &[f32],
        dy: &[f32],
        tensors: &HostTensors,
    ) -> HostGradients {
        self.reference_backward(x, &tensors["kernel"], dy).into()
    }
}
