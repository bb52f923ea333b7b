//! Checks of a layer's op through the [`Op`] interface the network uses: its forward launches
//! against its `cpu_forward` (with an activation fused into the epilogue, and the state a
//! training forward updates), its backward launches against its `cpu_backward`. Tensors are
//! random around their initializers (ones near 1, zeros near 0, kernels in [−1, 1]); scratch
//! starts NaN-poisoned on the GPU.

use std::rc::Rc;

use super::check::{Case, Check};
use super::compare::Tolerance;
use crate::gpu::step_table::StepParams;
use crate::gpu::GpuError;
use crate::layers::activation::{ActivationOp, Function};
use crate::layers::layer::{
    BackwardIo, CpuStep, ForwardIo, HostTensors, Init, Layer, Op, Role, TensorDef, Tensors, View,
};
use crate::layers::shape::Shape;

/// The layer seed of every check (Dropout's stream).
const SEED: u32 = 11;
/// Steps "taken before" the checked one (Dropout's counter).
const STEP: u32 = 2;

/// One layer at one input shape and batch.
#[derive(Clone)]
pub struct LayerCase {
    /// The layer, as a model file gives it.
    pub layer: Rc<dyn Layer>,
    /// One sample's input shape.
    pub input: Shape,
    /// Batch rows.
    pub rows: usize,
}

/// The op, its tensors' definitions and the lengths of `x` and `y`.
struct Prepared {
    op: Box<dyn Op>,
    defs: Vec<TensorDef>,
    x_len: usize,
    y_len: usize,
}

fn prepare(case: &LayerCase) -> Result<Prepared, GpuError> {
    let LayerCase { layer, input, rows } = case;
    let (input, rows) = (*input, *rows);
    let invalid = |problem: crate::layers::layer::Problem| GpuError::Wgpu {
        context: format!("selftest case {} on {input:?}", layer.class_name()),
        message: problem.problem,
    };
    let output = layer.output_shape(input).map_err(invalid)?;
    Ok(Prepared {
        op: layer.op(input, rows).map_err(invalid)?,
        defs: layer.tensors(input),
        x_len: rows * input.len(),
        y_len: rows * output.len(),
    })
}

/// Random values around each tensor's initializer (scratch: zeros, written by the forward).
fn host_tensors(check: &mut Check<'_>, defs: &[TensorDef]) -> HostTensors {
    defs.iter()
        .map(|def| {
            let values = match (def.role, def.init) {
                (Role::Scratch, _) => vec![0.0; def.len()],
                (_, Init::Ones) => check.uniform(def.len(), 0.5, 1.5),
                (_, Init::Zeros) => check.uniform(def.len(), -0.5, 0.5),
                (_, Init::GlorotUniform) => check.uniform(def.len(), -1.0, 1.0),
            };
            (def.name, values)
        })
        .collect()
}

/// The GPU copies of a layer's tensors (scratch NaN-poisoned).
fn tensor_buffers(
    check: &Check<'_>,
    defs: &[TensorDef],
    host: &HostTensors,
) -> Result<Vec<wgpu::Buffer>, GpuError> {
    defs.iter()
        .map(|def| match def.role {
            Role::Scratch => check.poisoned(def.name, def.len()),
            _ => check.upload(def.name, &host[def.name]),
        })
        .collect()
}

fn views<'a>(defs: &[TensorDef], buffers: &'a [wgpu::Buffer]) -> Tensors<'a> {
    let mut views = Tensors::default();
    for (def, buffer) in defs.iter().zip(buffers) {
        views.insert(def.name, View::whole(buffer, def.shape.clone()));
    }
    views
}

fn cpu_step(training: bool, rows: usize) -> CpuStep {
    CpuStep {
        training,
        batch_rows: rows,
        step: STEP,
        seed: SEED,
    }
}

fn gpu_step(rows: usize) -> StepParams {
    StepParams {
        batch_rows: rows as u32,
        step: STEP,
        ..StepParams::default()
    }
}

/// Runs the forward launches of `p` on the GPU; returns `y`.
async fn gpu_forward(
    check: &mut Check<'_>,
    p: &Prepared,
    rows: usize,
    (x, tensors): (&wgpu::Buffer, &[wgpu::Buffer]),
    activation: Function,
    training: bool,
) -> Result<wgpu::Buffer, GpuError> {
    let y = check.poisoned("y", p.y_len)?;
    let io = ForwardIo {
        label: "selftest",
        x: View::whole(x, vec![p.x_len]),
        tensors: views(&p.defs, tensors),
        y: View::whole(&y, vec![p.y_len]),
        activation,
        pooled: None,
        training,
        seed: SEED,
    };
    let dispatches = p.op.encode_forward(check.ctx, &io)?;
    check.launch(&dispatches, gpu_step(rows)).await?;
    Ok(y)
}

/// The training forward pass of `case`, `activation` fused into it, against its CPU twin
/// (then the activation's): the output and the state tensors it updates.
pub fn forward(
    what: String,
    case: LayerCase,
    activation: Function,
    tolerance: Tolerance,
    seed: u64,
) -> Case {
    forward_case(what, case, activation, true, tolerance, seed)
}

/// The inference forward pass of `case` against its CPU twin.
pub fn inference(what: String, case: LayerCase, tolerance: Tolerance, seed: u64) -> Case {
    forward_case(what, case, Function::Linear, false, tolerance, seed)
}

fn forward_case(
    what: String,
    case: LayerCase,
    activation: Function,
    training: bool,
    tolerance: Tolerance,
    seed: u64,
) -> Case {
    Case::new(what, tolerance, seed, move |check| {
        let case = case.clone();
        Box::pin(async move {
            let p = prepare(&case)?;
            let x = check.uniform(p.x_len, -2.0, 2.0);
            let mut host = host_tensors(check, &p.defs);
            let (x_buf, buffers) = (
                check.upload("x", &x)?,
                tensor_buffers(check, &p.defs, &host)?,
            );
            let y = gpu_forward(
                check,
                &p,
                case.rows,
                (&x_buf, &buffers),
                activation,
                training,
            )
            .await?;
            let step = cpu_step(training, case.rows);
            let mut expected = p.op.cpu_forward(step, &x, &mut host);
            if activation != Function::Linear {
                let fused = ActivationOp {
                    function: activation,
                    len: p.y_len,
                };
                expected = fused.cpu_forward(step, &expected, &mut HostTensors::new());
            }
            check.compare_buffer(&y, &expected).await?;
            for (def, buffer) in p.defs.iter().zip(&buffers) {
                if training && def.role == Role::State {
                    check.compare_buffer(buffer, &host[def.name]).await?;
                }
            }
            Ok(())
        })
    })
}

/// The backward pass of `case` against its CPU twin: the input gradient and every trainable
/// tensor's gradient. A layer with scratch tensors (what its forward saves for its backward)
/// runs its training forward first, on the GPU and the CPU alike; the row then names the
/// forward's kernels too.
pub fn backward(what: String, case: LayerCase, tolerance: Tolerance, seed: u64) -> Case {
    Case::new(what, tolerance, seed, move |check| {
        let case = case.clone();
        Box::pin(async move {
            let p = prepare(&case)?;
            let x = check.uniform(p.x_len, -2.0, 2.0);
            let dy = check.uniform(p.y_len, -1.0, 1.0);
            let mut host = host_tensors(check, &p.defs);
            let (x_buf, buffers) = (
                check.upload("x", &x)?,
                tensor_buffers(check, &p.defs, &host)?,
            );
            let step = cpu_step(true, case.rows);
            if p.defs.iter().any(|def| def.role == Role::Scratch) {
                gpu_forward(
                    check,
                    &p,
                    case.rows,
                    (&x_buf, &buffers),
                    Function::Linear,
                    true,
                )
                .await?;
                p.op.cpu_forward(step, &x, &mut host);
            }
            let expected = p.op.cpu_backward(step, &x, &dy, &host);
            let trainable: Vec<TensorDef> = p
                .defs
                .iter()
                .filter(|def| def.role == Role::Trainable)
                .cloned()
                .collect();
            let grads = trainable
                .iter()
                .map(|def| check.poisoned(def.name, def.len()))
                .collect::<Result<Vec<_>, _>>()?;
            let (dy_buf, dx) = (check.upload("dy", &dy)?, check.poisoned("dx", p.x_len)?);
            let io = BackwardIo {
                label: "selftest",
                x: View::whole(&x_buf, vec![p.x_len]),
                tensors: views(&p.defs, &buffers),
                dy: View::whole(&dy_buf, vec![p.y_len]),
                grads: views(&trainable, &grads),
                dx: Some(View::whole(&dx, vec![p.x_len])),
                mask_input: false,
                dy_columns: None,
                dx_as_columns: false,
                seed: SEED,
            };
            let dispatches = p.op.encode_backward(check.ctx, &io)?;
            check.launch(&dispatches, gpu_step(case.rows)).await?;
            check.compare_buffer(&dx, &expected.dx).await?;
            for (def, buffer) in trainable.iter().zip(&grads) {
                match expected.tensors.get(def.name) {
                    Some(cpu) => check.compare_buffer(buffer, cpu).await?,
                    None => check.missing(),
                }
            }
            Ok(())
        })
    })
}
