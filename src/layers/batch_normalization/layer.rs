//! Keras `BatchNormalization(axis=-1, momentum, epsilon)` as a layer: batch statistics while
//! training (and the moving statistics updated), moving statistics in inference and validation.
//! `gamma` and `beta` are trained; `moving_mean` and `moving_variance` are non-trainable state
//! saved in checkpoints; `saved` (the batch mean and 1/std of the last forward) is scratch.

use serde::{Deserialize, Serialize};

use super::{cpu, encode_backward, encode_forward, BackwardBuffers, ForwardBuffers, Mode, Params};
use crate::gpu::{buffers, Dispatch, GpuContext, GpuError};
use crate::layers::layer::{
    BackwardIo, CpuStep, ForwardIo, HostGradients, HostTensors, Init, Layer, Op, Problem, Role,
    TensorDef,
};
use crate::layers::shape::Shape;

fn default_momentum() -> f64 {
    0.99
}

fn default_epsilon() -> f64 {
    1e-3
}

fn default_axis() -> i64 {
    -1
}

/// Keras `BatchNormalization` over the last axis.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BatchNormalization {
    /// The normalised axis: only -1 (channels, NHWC) is supported.
    #[serde(default = "default_axis")]
    pub axis: i64,
    /// Weight of the old value in the moving statistics (default 0.99).
    #[serde(default = "default_momentum")]
    pub momentum: f64,
    /// Added to the variance before its square root (default 0.001).
    #[serde(default = "default_epsilon")]
    pub epsilon: f64,
}

impl Default for BatchNormalization {
    fn default() -> Self {
        Self {
            axis: default_axis(),
            momentum: default_momentum(),
            epsilon: default_epsilon(),
        }
    }
}

impl Layer for BatchNormalization {
    fn class_name(&self) -> &'static str {
        "BatchNormalization"
    }

    fn kind(&self) -> &'static str {
        "batch_normalization"
    }

    fn output_shape(&self, input: Shape) -> Result<Shape, Problem> {
        if self.axis != -1 {
            return Err(Problem::new(
                format!("axis {} is not supported", self.axis),
                "normalise the last (channels) axis: axis = -1",
            ));
        }
        if !(0.0..=1.0).contains(&self.momentum) {
            return Err(Problem::new(
                format!("momentum must be in [0, 1], got {}", self.momentum),
                "Keras's default is momentum = 0.99",
            ));
        }
        if !(self.epsilon > 0.0 && self.epsilon.is_finite()) {
            return Err(Problem::new(
                format!("epsilon must be positive, got {}", self.epsilon),
                "Keras's default is epsilon = 0.001",
            ));
        }
        Ok(input)
    }

    fn tensors(&self, input: Shape) -> Vec<TensorDef> {
        let channels = input.channels();
        let def = |name, init, role| TensorDef {
            name,
            shape: vec![channels],
            init,
            role,
        };
        vec![
            def("gamma", Init::Ones, Role::Trainable),
            def("beta", Init::Zeros, Role::Trainable),
            def("moving_mean", Init::Zeros, Role::State),
            def("moving_variance", Init::Ones, Role::State),
            TensorDef {
                name: "saved",
                shape: vec![2, channels],
                init: Init::Zeros,
                role: Role::Scratch,
            },
        ]
    }

    fn op(&self, input: Shape, rows: usize) -> Result<Box<dyn Op>, Problem> {
        self.output_shape(input)?;
        let channels = input.channels();
        Ok(Box::new(BatchNormOp {
            params: Params::new(
                rows,
                input.len() / channels.max(1),
                channels,
                self.momentum as f32,
                self.epsilon as f32,
            ),
        }))
    }
}

/// Batch normalisation at one batch size.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchNormOp {
    /// Sizes and settings.
    pub params: Params,
}

impl Op for BatchNormOp {
    fn encode_forward(
        &self,
        ctx: &GpuContext,
        io: &ForwardIo<'_>,
    ) -> Result<Vec<Dispatch>, GpuError> {
        let (t, label) = (&io.tensors, io.label);
        let mode = if io.training {
            Mode::Training
        } else {
            Mode::Inference
        };
        let buffers = ForwardBuffers {
            x: io.x.binding.clone(),
            gamma: t.get(label, "gamma")?,
            beta: t.get(label, "beta")?,
            moving_mean: t.get(label, "moving_mean")?,
            moving_variance: t.get(label, "moving_variance")?,
            saved: t.get(label, "saved")?,
            y: io.y.binding.clone(),
        };
        Ok(vec![encode_forward(
            ctx,
            label,
            mode,
            self.params,
            buffers,
        )?])
    }

    fn encode_backward(
        &self,
        ctx: &GpuContext,
        io: &BackwardIo<'_>,
    ) -> Result<Vec<Dispatch>, GpuError> {
        let label = io.label;
        let scratch;
        let dx = match &io.dx {
            Some(dx) => dx.binding.clone(),
            None => {
                // The kernel always writes dx; the first layer's goes to scratch.
                let bytes = (io.x.len() * 4) as u64;
                scratch = buffers::storage(ctx, &format!("{label}.dx"), bytes)?;
                scratch.as_entire_buffer_binding()
            }
        };
        let buffers = BackwardBuffers {
            x: io.x.binding.clone(),
            dy: io.dy.binding.clone(),
            gamma: io.tensors.get(label, "gamma")?,
            saved: io.tensors.get(label, "saved")?,
            dx,
            gamma_grad: io.grads.get(label, "gamma")?,
            beta_grad: io.grads.get(label, "beta")?,
        };
        Ok(vec![encode_backward(ctx, label, self.params, buffers)?])
    }

    fn cpu_forward(&self, step: CpuStep, x: &[f32], tensors: &mut HostTensors) -> Vec<f32> {
        let (gamma, beta) = (tensors["gamma"].clone(), tensors["beta"].clone());
        if !step.training {
            return cpu::forward_inference(
                &self.params,
                x,
                &gamma,
                &beta,
                &tensors["moving_mean"],
                &tensors["moving_variance"],
            );
        }
        let mut mean = tensors["moving_mean"].clone();
        let mut variance = tensors["moving_variance"].clone();
        let (y, saved) = cpu::forward_training(
            &self.params,
            step.batch_rows,
            x,
            &gamma,
            &beta,
            &mut mean,
            &mut variance,
        );
        tensors.insert("moving_mean", mean);
        tensors.insert("moving_variance", variance);
        tensors.insert("saved", saved);
        y
    }

    fn cpu_backward(
        &self,
        step: CpuStep,
        x: &[f32],
        dy: &[f32],
        tensors: &HostTensors,
    ) -> HostGradients {
        let (dx, gamma, beta) = cpu::backward(
            &self.params,
            step.batch_rows,
            x,
            dy,
            &tensors["gamma"],
            &tensors["saved"],
        );
        HostGradients {
            dx,
            tensors: HostTensors::from([("gamma", gamma), ("beta", beta)]),
        }
    }
}
