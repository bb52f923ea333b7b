//! The passes of a layer with a kernel and a bias (dense, conv2d) as launches of the one GEMM:
//! the layer chooses the GEMM sizes and operand [`Layout`] of each pass ([`KernelLayerGemms`]),
//! this module the epilogues and the labels, from the layer's named views. The bias gradient
//! comes with the weight gradient ([`Epilogue::ColumnSums`]).

use super::{
    encode, encode_split_k, Epilogue, Layout, MatmulOverrides, Operands, Params, Product, Tile,
};
use crate::gpu::{Dispatch, GpuContext, GpuError};
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
    /// The tile this GEMM runs in, chosen from its sizes ([`Tile::for_product`]).
    pub fn tile(&self) -> Tile {
        Tile::for_product(self.params.m, self.params.n, self.params.k)
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
        let epilogue = match io.activation {
            Activation::Linear => Epilogue::Bias,
            Activation::Relu => Epilogue::BiasRelu,
            other => {
                return Err(GpuError::Wgpu {
                    context: label,
                    message: format!("the GEMM epilogue cannot apply {other}"),
                })
            }
        };
        let operands = Operands {
            a: io.x.binding.clone(),
            b: io.tensors.get(&label, "kernel")?,
            bias: io.tensors.get(&label, "bias")?,
            mask: io.x.binding.clone(),
            c: io.y.binding.clone(),
            column_sums: None,
        };
        let overrides = MatmulOverrides {
            layout: self.forward.layout,
            epilogue,
            tile: self.forward.tile(),
        };
        Ok(vec![encode(
            ctx,
            &label,
            self.forward.params,
            overrides,
            operands,
        )?])
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
        let mut dispatches = encode_split_k(
            ctx,
            &label,
            self.backward_weight.params,
            self.backward_weight.layout,
            self.backward_weight.tile(),
            Product {
                a: io.x.binding.clone(),
                b: io.dy.binding.clone(),
                c: io.grads.get(&label, "kernel")?,
                column_sums: Some(io.grads.get(&label, "bias")?),
            },
        )?;
        if let Some(dx) = &io.dx {
            let label = format!("{}.backward_input", io.label);
            let kernel = io.tensors.get(&label, "kernel")?;
            let epilogue = if io.mask_input {
                Epilogue::ReluMask
            } else {
                Epilogue::None
            };
            let operands = Operands {
                a: io.dy.binding.clone(),
                bias: kernel.clone(),
                b: kernel,
                mask: io.x.binding.clone(),
                c: dx.binding.clone(),
                column_sums: None,
            };
            let overrides = MatmulOverrides {
                layout: self.backward_input.layout,
                epilogue,
                tile: self.backward_input.tile(),
            };
            dispatches.push(encode(
                ctx,
                &label,
                self.backward_input.params,
                overrides,
                operands,
            )?);
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
