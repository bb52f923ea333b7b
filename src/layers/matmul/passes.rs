//! The passes of a layer with a kernel and a bias (dense, conv2d) as launches of the one GEMM:
//! the layer chooses the GEMM sizes and operand [`Layout`] of each pass ([`KernelLayerGemms`]),
//! this module the epilogues and the labels, from the layer's named views. The bias gradient
//! comes with the weight gradient ([`Epilogue::ColumnSums`]); the input gradient is one GEMM,
//! or a column GEMM and col2im ([`InputGradient`]). Each GEMM launches as [`plan()`] lays it out
//! for the device's profile.

use super::{encode_plan, plan, Epilogue, GemmPlan, Layout, Operands, Params};
use crate::gpu::{buffers, Dispatch, GpuContext, GpuError, LaunchProfile};
use crate::layers::activation::Function;
use crate::layers::layer::{
    BackwardIo, CpuStep, ForwardIo, HeadShape, HostGradients, HostTensors, Op, View,
};
use crate::layers::shape::PoolKind;
use crate::layers::Gradients;
use crate::layers::{col2im, pool2d};

/// The GEMM of one pass: its sizes and how it reads its operands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gemm {
    /// Sizes (and convolution geometry).
    pub params: Params,
    /// How A and B are read.
    pub layout: Layout,
}

impl Gemm {
    /// How this GEMM with `epilogue` launches on a device of `profile` ([`plan()`]); a pooled
    /// convolution forward never splits k (its pooling needs whole sums).
    pub fn plan(&self, epilogue: Epilogue, profile: &LaunchProfile) -> GemmPlan {
        let plan = plan(self.params, epilogue, profile);
        match self.layout {
            Layout::ConvForwardPooled(_) if plan.splits() > 1 => {
                GemmPlan::new(self.params.unsplit(), plan.tile)
            }
            _ => plan,
        }
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

/// The forward GEMM's epilogue with `function` fused (none for the identity).
pub fn forward_epilogue(function: Function) -> Epilogue {
    match function {
        Function::Linear => Epilogue::Bias,
        function => Epilogue::BiasActivation(function),
    }
}

/// The weight-gradient GEMM's epilogue: the bias gradient as the column sums of dz.
pub const BACKWARD_WEIGHT_EPILOGUE: Epilogue = Epilogue::ColumnSums;

/// The input-gradient GEMM's epilogue where it writes `dx`, masked by `x > 0` when the planner
/// fused a ReLU.
fn backward_input_epilogue(mask_input: bool) -> Epilogue {
    if mask_input {
        Epilogue::ReluMask
    } else {
        Epilogue::None
    }
}

/// How a layer's input gradient is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputGradient {
    /// One GEMM writes `dx = opA(dz) · opB(kernel)` (its epilogue applies a fused ReLU's mask).
    Gemm(Gemm),
    /// A GEMM writes the column gradient `dz · kernelᵀ`, then col2im sums each input value's
    /// columns into `dx` (and applies the mask).
    Columns {
        /// `columns [B·OH·OW, KH·KW·C_in] = dz · kernelᵀ`.
        gemm: Gemm,
        /// The convolution geometry col2im sums over.
        col2im: col2im::Geometry,
    },
}

impl InputGradient {
    /// The GEMM of the input gradient (writing `dx` or the columns).
    pub fn gemm(&self) -> Gemm {
        match *self {
            Self::Gemm(gemm) | Self::Columns { gemm, .. } => gemm,
        }
    }

    /// Its GEMM's epilogue: the ReLU mask where the planner fused one and the GEMM writes
    /// `dx`; none for the column gradient (col2im masks).
    pub fn epilogue(&self, mask_input: bool) -> Epilogue {
        match self {
            Self::Gemm(_) => backward_input_epilogue(mask_input),
            Self::Columns { .. } => Epilogue::None,
        }
    }
}

/// The three GEMMs of a kernel-and-bias layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelLayerGemms {
    /// `y = opA(x) · kernel + bias`.
    pub forward: Gemm,
    /// The forward's sizes with its rows in 2×2 pooling windows, where the layer can pool its
    /// output in the same launch ([`Layout::ConvForwardPooled`]).
    pub pooled_forward: Option<Params>,
    /// `dx` from `dz` and the kernel.
    pub backward_input: InputGradient,
    /// `dkernel = opA(x) · dz`.
    pub backward_weight: Gemm,
}

impl KernelLayerGemms {
    /// The largest k of the three GEMMs.
    pub fn longest_sum(&self) -> u32 {
        [
            self.forward,
            self.backward_input.gemm(),
            self.backward_weight,
        ]
        .iter()
        .map(|gemm| gemm.params.k)
        .max()
        .unwrap_or(0)
    }

    /// The forward GEMM as it runs: pooled in the same launch where the planner folded a
    /// pooling layer of `pooled` kind into it.
    pub fn forward_gemm(&self, pooled: Option<PoolKind>) -> Option<Gemm> {
        match pooled {
            None => Some(self.forward),
            Some(kind) => self.pooled_forward.map(|params| Gemm {
                params,
                layout: Layout::ConvForwardPooled(kind),
            }),
        }
    }

    /// `y = f(opA(x) · kernel + bias)`, with the activation the planner fused, and the
    /// pooling of `y` when the planner folded one into it.
    pub fn encode_forward(
        &self,
        ctx: &GpuContext,
        io: &ForwardIo<'_>,
    ) -> Result<Vec<Dispatch>, GpuError> {
        let label = format!("{}.forward", io.label);
        let epilogue = forward_epilogue(io.activation);
        let Some(gemm) = self.forward_gemm(io.pooled.as_ref().map(|(kind, _)| *kind)) else {
            return Err(GpuError::Wgpu {
                context: label,
                message: "the plan folded a pooling this layer cannot compute".into(),
            });
        };
        let operands = Operands {
            a: io.x.binding.clone(),
            b: io.tensors.get(&label, "kernel")?,
            bias: io.tensors.get(&label, "bias")?,
            mask: io.x.binding.clone(),
            c: io.y.binding.clone(),
            column_sums: None,
            pooled: io.pooled.as_ref().map(|(_, y)| y.binding.clone()),
        };
        gemm.encode(ctx, &label, epilogue, operands)
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
            pooled: None,
        };
        let mut dispatches =
            self.backward_weight
                .encode(ctx, &label, BACKWARD_WEIGHT_EPILOGUE, operands)?;
        if let Some(dx) = &io.dx {
            let label = format!("{}.backward_input", io.label);
            dispatches.extend(self.encode_backward_input(ctx, &label, io, dx)?);
        }
        Ok(dispatches)
    }

    /// `dx` from `dz`: one GEMM whose epilogue masks by `x > 0` when the planner fused the
    /// previous layer's ReLU; or the column GEMM, into `dx` itself where the planner left
    /// col2im to the previous layer's backward, else into a scratch buffer that col2im (which
    /// masks) sums into `dx`.
    fn encode_backward_input(
        &self,
        ctx: &GpuContext,
        label: &str,
        io: &BackwardIo<'_>,
        dx: &View<'_>,
    ) -> Result<Vec<Dispatch>, GpuError> {
        let kernel = io.tensors.get(label, "kernel")?;
        let gemm = self.backward_input.gemm();
        let epilogue = self.backward_input.epilogue(io.mask_input);
        let product = |c: wgpu::BufferBinding<'_>, epilogue| {
            let operands = Operands {
                a: io.dy.binding.clone(),
                bias: kernel.clone(),
                b: kernel.clone(),
                mask: io.x.binding.clone(),
                c,
                column_sums: None,
                pooled: None,
            };
            gemm.encode(ctx, label, epilogue, operands)
        };
        match self.backward_input {
            InputGradient::Gemm(_) if io.dx_as_columns => Err(GpuError::Wgpu {
                context: label.to_string(),
                message: "the plan asked for a column gradient this layer does not compute".into(),
            }),
            InputGradient::Gemm(_) => product(dx.binding.clone(), epilogue),
            InputGradient::Columns { .. } if io.dx_as_columns => {
                product(dx.binding.clone(), epilogue)
            }
            InputGradient::Columns { col2im, .. } => {
                let (rows, cols) = (col2im.column_rows(), col2im.column_len());
                let columns = buffers::storage(
                    ctx,
                    &format!("{label}.columns [{rows}, {cols}]"),
                    col2im.column_values().saturating_mul(4),
                )?;
                let mut launches = product(buffers::whole(&columns), epilogue)?;
                launches.push(pool2d::encode_col2im(
                    ctx,
                    &format!("{label}.col2im"),
                    &col2im,
                    io.mask_input,
                    pool2d::BackwardBuffers {
                        x: io.x.binding.clone(),
                        dy: buffers::whole(&columns),
                        dx: dx.binding.clone(),
                    },
                )?);
                Ok(launches)
            }
        }
    }
}

/// A layer whose passes are the GEMMs of [`KernelLayerGemms`] over a `kernel` and a `bias`
/// (dense, conv2d): its [`Op`] follows from its GEMMs and its CPU reference.
pub trait KernelLayer {
    /// The layer's three GEMMs.
    fn gemms(&self) -> KernelLayerGemms;
    /// The CPU reference forward, `x · kernel + bias` (no activation: the plan's activation
    /// node applies it on the CPU).
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

    fn input_gradient_columns(&self) -> Option<col2im::Geometry> {
        match self.gemms().backward_input {
            InputGradient::Columns { col2im, .. } => Some(col2im),
            InputGradient::Gemm(_) => None,
        }
    }

    fn kernel_gemms(&self) -> Option<KernelLayerGemms> {
        Some(self.gemms())
    }

    fn pools_output(&self) -> bool {
        self.gemms().pooled_forward.is_some()
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
