//! 2-D max and average pooling, NHWC, valid padding (Keras's default; floor on odd sizes):
//!
//! ```text
//! forward          y[b, oh, ow, c] = max (mean) over the window at (oh·sh, ow·sw) of x[b, ·, ·, c]
//! backward_input   max: dy goes to the window's first maximum (row-major); mean: dy / area to
//!                  every element of the window (⊙ (x > 0) when the planner fused a ReLU before)
//! ```

pub mod cpu;
pub mod geometry;

use bytemuck::{Pod, Zeroable};
use serde::{Deserialize, Serialize};

use crate::gpu::dispatch::grid_for;
use crate::gpu::kernels::{flag, Overrides};
use crate::gpu::{Dispatch, GpuContext, GpuError, Kernel};
use crate::layers::col2im;
use crate::layers::layer::{
    BackwardIo, CpuStep, ForwardIo, HostGradients, HostTensors, Layer, Op, Problem,
};
use crate::layers::rules::{image, image_output, size_at_least_one, COLLAPSE_HINT};
use crate::layers::shape::{PoolKind, Shape, Size2};

/// A pooling window and its strides, the fields of Keras's `MaxPooling2D` and
/// `AveragePooling2D` (valid padding, floor on odd sizes).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// Window height and width.
    pub pool_size: Size2,
    /// Step between windows (default: the pool size).
    #[serde(default)]
    pub strides: Option<Size2>,
}

impl Window {
    /// A `pool_size` window stepping by itself.
    pub fn new(pool_size: Size2) -> Self {
        Self {
            pool_size,
            strides: None,
        }
    }

    fn output_shape(&self, class: &str, input: Shape) -> Result<Shape, Problem> {
        let (h, w, c) = image(input, class)?;
        let (pool, strides) = (self.pool_size, self.strides.unwrap_or(self.pool_size));
        size_at_least_one("pool_size", pool)?;
        size_at_least_one("strides", strides)?;
        let rows = geometry::output_extent(h, pool.h, strides.h);
        let cols = geometry::output_extent(w, pool.w, strides.w);
        let (Some(out_h), Some(out_w)) = (rows, cols) else {
            return Err(Problem::new(
                format!(
                    "the output collapses to nothing: the {}x{} pool window does not fit the \
                     {h}x{w} input",
                    pool.h, pool.w
                ),
                COLLAPSE_HINT,
            ));
        };
        image_output(out_h, out_w, c)
    }

    fn op(
        &self,
        kind: PoolKind,
        class: &str,
        input: Shape,
        rows: usize,
    ) -> Result<Box<dyn Op>, Problem> {
        self.output_shape(class, input)?;
        let (h, w, c) = image(input, class)?;
        let strides = self.strides.unwrap_or(self.pool_size);
        let params = Params::new(rows, [h, w, c], self.pool_size, strides)
            .ok_or_else(|| Problem::new("the output collapses to nothing", COLLAPSE_HINT))?;
        Ok(Box::new(PoolOp { kind, params }))
    }
}

/// Keras `MaxPooling2D(pool_size, strides)`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct MaxPooling2D(pub Window);

/// Keras `AveragePooling2D(pool_size, strides)`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct AveragePooling2D(pub Window);

impl Layer for MaxPooling2D {
    fn class_name(&self) -> &'static str {
        "MaxPooling2D"
    }

    fn kind(&self) -> &'static str {
        "max_pooling2d"
    }

    fn output_shape(&self, input: Shape) -> Result<Shape, Problem> {
        self.0.output_shape(self.class_name(), input)
    }

    fn op(&self, input: Shape, rows: usize) -> Result<Box<dyn Op>, Problem> {
        self.0.op(PoolKind::Max, self.class_name(), input, rows)
    }
}

impl Layer for AveragePooling2D {
    fn class_name(&self) -> &'static str {
        "AveragePooling2D"
    }

    fn kind(&self) -> &'static str {
        "average_pooling2d"
    }

    fn output_shape(&self, input: Shape) -> Result<Shape, Problem> {
        self.0.output_shape(self.class_name(), input)
    }

    fn op(&self, input: Shape, rows: usize) -> Result<Box<dyn Op>, Problem> {
        self.0.op(PoolKind::Average, self.class_name(), input, rows)
    }
}

/// Mirrors `struct Params` of `shaders/pool2d/*.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct Params {
    /// Batch rows.
    pub batch: u32,
    /// Input height.
    pub in_h: u32,
    /// Input width.
    pub in_w: u32,
    /// Channels (unchanged by pooling).
    pub channels: u32,
    /// Output height.
    pub out_h: u32,
    /// Output width.
    pub out_w: u32,
    /// Window height.
    pub pool_h: u32,
    /// Window width.
    pub pool_w: u32,
    /// Vertical stride.
    pub stride_h: u32,
    /// Horizontal stride.
    pub stride_w: u32,
    /// backward_input reading a column gradient: the convolution's output height.
    pub columns_h: u32,
    /// ... its output width.
    pub columns_w: u32,
    /// ... its kernel height.
    pub tap_h: u32,
    /// ... its kernel width.
    pub tap_w: u32,
    /// ... its vertical stride.
    pub tap_stride_h: u32,
    /// ... its horizontal stride.
    pub tap_stride_w: u32,
    /// ... its zero rows above its input.
    pub pad_top: u32,
    /// ... its zero columns left of its input.
    pub pad_left: u32,
    /// Padding to 16-byte multiples.
    pub _pad0: u32,
    /// Padding to 16-byte multiples.
    pub _pad1: u32,
}

impl Params {
    /// The parameters of pooling `[h, w, c]` inputs with `pool` windows every `strides`, or
    /// `None` when the output would be empty.
    pub fn new(batch: usize, [h, w, c]: [usize; 3], pool: Size2, strides: Size2) -> Option<Self> {
        let out_h = geometry::output_extent(h, pool.h, strides.h)?;
        let out_w = geometry::output_extent(w, pool.w, strides.w)?;
        Some(Self {
            batch: batch as u32,
            in_h: h as u32,
            in_w: w as u32,
            channels: c as u32,
            out_h: out_h as u32,
            out_w: out_w as u32,
            pool_h: pool.h as u32,
            pool_w: pool.w as u32,
            stride_h: strides.h as u32,
            stride_w: strides.w as u32,
            ..Self::default()
        })
    }

    /// Values in one batch of inputs.
    pub fn input_len(&self) -> usize {
        (self.batch * self.in_h * self.in_w * self.channels) as usize
    }

    /// Whether no two windows share an input (stride ≥ pool on both axes).
    pub fn windows_are_disjoint(&self) -> bool {
        self.stride_h >= self.pool_h && self.stride_w >= self.pool_w
    }

    /// Values in one batch of outputs.
    pub fn output_len(&self) -> usize {
        (self.batch * self.out_h * self.out_w * self.channels) as usize
    }

    /// These parameters with the output gradient read from the column gradient of the
    /// convolution `columns` (whose input is this pooling's output), or `None` when the shapes
    /// do not meet.
    pub fn reading_columns(self, columns: &col2im::Geometry) -> Option<Self> {
        let meets = [columns.batch, columns.in_h, columns.in_w, columns.in_c]
            == [self.batch, self.out_h, self.out_w, self.channels];
        meets.then_some(Self {
            columns_h: columns.out_h,
            columns_w: columns.out_w,
            tap_h: columns.kernel_h,
            tap_w: columns.kernel_w,
            tap_stride_h: columns.stride_h,
            tap_stride_w: columns.stride_w,
            pad_top: columns.pad_top,
            pad_left: columns.pad_left,
            ..self
        })
    }

    /// Whether the output gradient is read from a column gradient.
    fn reads_columns(&self) -> bool {
        self.tap_h > 0
    }
}

/// The override constants of the pooling kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolOverrides {
    /// Max or average.
    pub kind: PoolKind,
    /// backward_input only: its options.
    pub backward: Option<BackwardOverrides>,
}

/// The override constants of `pool2d.backward_input` beside the kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackwardOverrides {
    /// Zero the gradient where the input is not positive (a fused ReLU).
    pub mask_by_input: bool,
    /// One thread per window, as windows do not overlap.
    pub per_window: bool,
    /// The output gradient is a column gradient ([`Params::reading_columns`]).
    pub columns: bool,
    /// ... of a convolution with both strides 1.
    pub unit_tap_stride: bool,
}

impl Overrides for PoolOverrides {
    fn constants(&self) -> Vec<(&'static str, f64)> {
        let mut constants = vec![("AVERAGE", flag(self.kind == PoolKind::Average))];
        if let Some(backward) = self.backward {
            constants.extend([
                ("MASK_BY_INPUT", flag(backward.mask_by_input)),
                ("PER_WINDOW", flag(backward.per_window)),
                ("COLUMNS", flag(backward.columns)),
                ("UNIT_TAP_STRIDE", flag(backward.unit_tap_stride)),
            ]);
        }
        constants
    }
}

/// What one `pool2d.backward_input` launch reads and writes.
pub struct BackwardBuffers<'a> {
    /// `[batch, in_h, in_w, channels]` the forward input.
    pub x: wgpu::BufferBinding<'a>,
    /// `[batch, out_h, out_w, channels]` the output gradient, or a column gradient.
    pub dy: wgpu::BufferBinding<'a>,
    /// `[batch, in_h, in_w, channels]` the input gradient.
    pub dx: wgpu::BufferBinding<'a>,
}

/// Builds the `pool2d.backward_input` launch of `params` (reading a column gradient where
/// [`Params::reading_columns`] made them so), masked by `x > 0` when `mask_by_input`.
pub fn encode_backward_input(
    ctx: &GpuContext,
    label: &str,
    (params, kind): (Params, PoolKind),
    mask_by_input: bool,
    io: BackwardBuffers<'_>,
) -> Result<Dispatch, GpuError> {
    let per_window = params.windows_are_disjoint();
    let threads = if per_window {
        params.output_len()
    } else {
        params.input_len()
    };
    let grid = grid_for(ctx, label, threads as u64, 256)?;
    let overrides = PoolOverrides {
        kind,
        backward: Some(BackwardOverrides {
            mask_by_input,
            per_window,
            columns: params.reads_columns(),
            unit_tap_stride: params.tap_stride_h == 1 && params.tap_stride_w == 1,
        }),
    };
    Dispatch::new(
        ctx,
        Kernel::Pool2dBackwardInput,
        label,
        &overrides,
        &params,
        &[io.x, io.dy, io.dx],
        grid,
    )
}

/// Builds col2im alone (`columns → dx`, masked by `x > 0` when `mask_by_input`): the backward
/// of a 1×1 average pooling with stride 1 (which passes its gradient through exactly) reading
/// its output gradient from the column gradient.
pub fn encode_col2im(
    ctx: &GpuContext,
    label: &str,
    columns: &col2im::Geometry,
    mask_by_input: bool,
    io: BackwardBuffers<'_>,
) -> Result<Dispatch, GpuError> {
    let (h, w, c) = (columns.in_h, columns.in_w, columns.in_c);
    let identity = Params::new(
        columns.batch as usize,
        [h as usize, w as usize, c as usize],
        Size2::square(1),
        Size2::square(1),
    )
    .and_then(|params| params.reading_columns(columns))
    .ok_or_else(|| GpuError::Wgpu {
        context: label.to_string(),
        message: format!("col2im of an empty {h}x{w}x{c} input"),
    })?;
    encode_backward_input(ctx, label, (identity, PoolKind::Average), mask_by_input, io)
}

/// Pooling at one batch size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolOp {
    /// Max or average.
    pub kind: PoolKind,
    /// Sizes.
    pub params: Params,
}

impl Op for PoolOp {
    fn masks_input_gradient(&self) -> bool {
        true
    }

    fn reads_column_gradient(&self) -> bool {
        true
    }

    fn pooling_2x2(&self) -> Option<PoolKind> {
        let p = &self.params;
        ([p.pool_h, p.pool_w, p.stride_h, p.stride_w] == [2; 4]).then_some(self.kind)
    }

    fn encode_forward(
        &self,
        ctx: &GpuContext,
        io: &ForwardIo<'_>,
    ) -> Result<Vec<Dispatch>, GpuError> {
        let label = format!("{}.forward", io.label);
        let grid = grid_for(ctx, &label, self.params.output_len() as u64, 256)?;
        let overrides = PoolOverrides {
            kind: self.kind,
            backward: None,
        };
        Ok(vec![Dispatch::new(
            ctx,
            Kernel::Pool2dForward,
            &label,
            &overrides,
            &self.params,
            &[io.x.binding.clone(), io.y.binding.clone()],
            grid,
        )?])
    }

    fn encode_backward(
        &self,
        ctx: &GpuContext,
        io: &BackwardIo<'_>,
    ) -> Result<Vec<Dispatch>, GpuError> {
        let Some(dx) = &io.dx else {
            return Ok(Vec::new());
        };
        let label = format!("{}.backward_input", io.label);
        let params = match &io.dy_columns {
            Some(columns) => {
                self.params
                    .reading_columns(columns)
                    .ok_or_else(|| GpuError::Wgpu {
                        context: label.clone(),
                        message: format!(
                            "the column gradient's geometry {columns:?} does not meet the output"
                        ),
                    })?
            }
            None => self.params,
        };
        let buffers = BackwardBuffers {
            x: io.x.binding.clone(),
            dy: io.dy.binding.clone(),
            dx: dx.binding.clone(),
        };
        Ok(vec![encode_backward_input(
            ctx,
            &label,
            (params, self.kind),
            io.mask_input,
            buffers,
        )?])
    }

    fn cpu_forward(&self, _step: CpuStep, x: &[f32], _tensors: &mut HostTensors) -> Vec<f32> {
        cpu::forward(&self.params, self.kind, x)
    }

    fn cpu_backward(
        &self,
        _step: CpuStep,
        x: &[f32],
        dy: &[f32],
        _tensors: &HostTensors,
    ) -> HostGradients {
        HostGradients {
            dx: cpu::backward_input(&self.params, self.kind, false, x, dy),
            tensors: HostTensors::new(),
        }
    }
}
