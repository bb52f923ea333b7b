//! The activations as opset-13 operators, each computing the formula of
//! `shaders/activation/functions.wgsl` (the table in [`crate::layers::activation`]):
//!
//! | function   | ONNX                                                                   |
//! |------------|------------------------------------------------------------------------|
//! | relu       | `Relu`                                                                 |
//! | sigmoid    | `Sigmoid`                                                              |
//! | tanh       | `Tanh`                                                                 |
//! | elu        | `Elu(alpha = 1)`                                                       |
//! | selu       | `Selu(alpha = 1.67326324, gamma = 1.05070098)`, our constants          |
//! | gelu       | `x · (1 + Erf(x · √½)) · ½`, the erf form (ONNX's `Gelu` is opset 20)  |
//! | leaky_relu | `LeakyRelu(alpha = slope)`                                             |
//! | softplus   | `Max(x, 0) + Log(1 + Exp(−Abs(x)))`, our overflow-free form           |
//! | silu       | `x · Sigmoid(x)`                                                       |
//! | softmax    | `Softmax(axis = −1)` on `[N, classes]`                                 |
//!
//! Softplus is composed rather than ONNX's `Softplus`, whose `log(exp(x) + 1)` overflows to
//! infinity for large `x` in runtimes that compute it literally; the composition is what our
//! kernel computes, so every runtime agrees with `predict`. Our gelu takes erf from
//! Abramowitz and Stegun's 7.1.26 (within 1.5e-7); `Erf` is exact, so the two differ by at
//! most 7.5e-8·|x|.

use super::graph::{Attr, GraphBuilder};
use crate::layers::activation::Function;

/// selu's α, as `shaders/activation/functions.wgsl` has it.
const SELU_ALPHA: f32 = 1.673_263_2;
/// selu's λ.
const SELU_SCALE: f32 = 1.050_701;

/// Appends `function` applied to `x`; returns the value written, named after `name`.
pub fn emit(graph: &mut GraphBuilder, x: &str, function: Function, name: &str) -> String {
    let unary = |graph: &mut GraphBuilder, op: &str, attributes: &[(&str, Attr)]| {
        graph.node(op, &[x], attributes, name)
    };
    match function {
        Function::Linear => x.to_string(),
        Function::Relu => unary(graph, "Relu", &[]),
        Function::Sigmoid => unary(graph, "Sigmoid", &[]),
        Function::Tanh => unary(graph, "Tanh", &[]),
        Function::Elu => unary(graph, "Elu", &[("alpha", Attr::Float(1.0))]),
        Function::Selu => unary(
            graph,
            "Selu",
            &[
                ("alpha", Attr::Float(SELU_ALPHA)),
                ("gamma", Attr::Float(SELU_SCALE)),
            ],
        ),
        Function::LeakyRelu(slope) => {
            unary(graph, "LeakyRelu", &[("alpha", Attr::Float(slope.get()))])
        }
        Function::Gelu => gelu(graph, x, name),
        Function::Softplus => softplus(graph, x, name),
        Function::Silu => {
            let sigmoid = graph.node("Sigmoid", &[x], &[], &format!("{name}.sigmoid"));
            graph.node("Mul", &[x, &sigmoid], &[], name)
        }
    }
}

/// `x · (1 + Erf(x · √½)) · ½`.
fn gelu(graph: &mut GraphBuilder, x: &str, name: &str) -> String {
    let sqrt_half = graph.scalar("gelu.sqrt_half", std::f32::consts::FRAC_1_SQRT_2);
    let one = graph.scalar("one", 1.0);
    let half = graph.scalar("gelu.half", 0.5);
    let scaled = graph.node("Mul", &[x, &sqrt_half], &[], &format!("{name}.scaled"));
    let erf = graph.node("Erf", &[&scaled], &[], &format!("{name}.erf"));
    let cdf2 = graph.node("Add", &[&erf, &one], &[], &format!("{name}.two_cdf"));
    let product = graph.node("Mul", &[x, &cdf2], &[], &format!("{name}.twice"));
    graph.node("Mul", &[&product, &half], &[], name)
}

/// `Max(x, 0) + Log(1 + Exp(−Abs(x)))`.
fn softplus(graph: &mut GraphBuilder, x: &str, name: &str) -> String {
    let zero = graph.scalar("zero", 0.0);
    let one = graph.scalar("one", 1.0);
    let step = |graph: &mut GraphBuilder, op: &str, inputs: &[&str], part: &str| {
        graph.node(op, inputs, &[], &format!("{name}.{part}"))
    };
    let positive = step(graph, "Max", &[x, &zero], "positive");
    let magnitude = step(graph, "Abs", &[x], "abs");
    let negated = step(graph, "Neg", &[&magnitude], "neg_abs");
    let exp = step(graph, "Exp", &[&negated], "exp");
    let sum = step(graph, "Add", &[&one, &exp], "one_plus_exp");
    let log = step(graph, "Log", &[&sum], "log");
    graph.node("Add", &[&positive, &log], &[], name)
}

/// Appends the softmax over the last axis of `x`; returns the value written.
pub fn softmax(graph: &mut GraphBuilder, x: &str, name: &str) -> String {
    graph.node("Softmax", &[x], &[("axis", Attr::Int(-1))], name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The f32 value of `const NAME: f32 = ...;` in the kernels' formulas.
    fn wgsl_constant(name: &str) -> f32 {
        let source = include_str!("../../shaders/activation/functions.wgsl");
        let prefix = format!("const {name}: f32 = ");
        let line = source
            .lines()
            .find_map(|line| line.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("{name} is not in functions.wgsl"));
        line.trim_end_matches(';').parse().expect("an f32 literal")
    }

    #[test]
    fn selu_and_gelu_constants_are_the_kernels() {
        assert_eq!(SELU_ALPHA, wgsl_constant("SELU_ALPHA"));
        assert_eq!(SELU_SCALE, wgsl_constant("SELU_SCALE"));
        assert_eq!(std::f32::consts::FRAC_1_SQRT_2, wgsl_constant("SQRT_HALF"));
    }

    #[test]
    fn compositions_read_only_earlier_values() {
        for function in Function::ALL {
            let mut graph = GraphBuilder::new("x");
            let out = emit(&mut graph, "x", function, "act");
            let (nodes, initializers) = graph.finish();
            let mut known: Vec<String> = initializers.iter().map(|t| t.name.clone()).collect();
            known.push("x".into());
            for node in &nodes {
                for input in &node.input {
                    assert!(
                        known.contains(input),
                        "{function:?}: {input} read before written"
                    );
                }
                known.extend(node.output.iter().cloned());
            }
            let expected = if function == Function::Linear {
                "x"
            } else {
                "act"
            };
            assert_eq!(out, expected, "{function:?}");
        }
    }
}
