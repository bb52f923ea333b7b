// activation functions: the elementwise activations, shared by every kernel that applies one
// (activation.forward, activation.backward_input, and the epilogues of matmul.forward and
// matmul.sum_splits). WGSL has no includes: gpu/kernels.rs puts this text before each of those
// kernels' own source, so the formulas exist once.
//
// f is chosen by the override constant ACTIVATION (the codes of layers::activation::Function):
//   code  name        f(x)                                  f'(x)
//   0     linear      x                                     1
//   1     relu        max(x, 0)                             x > 0 ? 1 : 0 (0 at the kink)
//   2     sigmoid     1 / (1 + e^-x)                        s (1 − s), s = sigmoid(x)
//   3     tanh        tanh(x)                               1 − tanh(x)²
//   4     elu         x > 0 ? x : e^x − 1                   x > 0 ? 1 : e^x
//   5     selu        λ (x > 0 ? x : α (e^x − 1))           λ (x > 0 ? 1 : α e^x)
//   6     gelu        x Φ(x) = x (1 + erf(x / √2)) / 2      Φ(x) + x φ(x), φ(x) = e^(−x²/2) / √(2π)
//   7     leaky_relu  x > 0 ? x : NEGATIVE_SLOPE · x        x > 0 ? 1 : NEGATIVE_SLOPE
//   8     softplus    log(1 + e^x)                          sigmoid(x)
//   9     silu        x · sigmoid(x)                        s (1 + x (1 − s))
// selu: α = 1.67326324, λ = 1.05070098 (Keras's constants). gelu: erf by Abramowitz and Stegun
// 7.1.26 (|error| ≤ 1.5e-7), so |gelu error| ≤ 7.5e-8 · |x| plus f32 rounding.

override ACTIVATION: u32 = 0u;
// leaky_relu's slope for x ≤ 0.
override NEGATIVE_SLOPE: f32 = 0.2;

const LINEAR: u32 = 0u;
const RELU: u32 = 1u;
const SIGMOID: u32 = 2u;
const TANH: u32 = 3u;
const ELU: u32 = 4u;
const SELU: u32 = 5u;
const GELU: u32 = 6u;
const LEAKY_RELU: u32 = 7u;
const SOFTPLUS: u32 = 8u;
const SILU: u32 = 9u;

const SELU_ALPHA: f32 = 1.67326324;
const SELU_SCALE: f32 = 1.05070098;
const SQRT_HALF: f32 = 0.70710678;
const INV_SQRT_2PI: f32 = 0.39894228;

// 1 / (1 + e^-v) without overflow: e^-|v| is at most 1.
fn sigmoid(v: f32) -> f32 {
    let e = exp(-abs(v));
    return select(e / (1.0 + e), 1.0 / (1.0 + e), v >= 0.0);
}

// erf(v) by Abramowitz and Stegun 7.1.26: |error| ≤ 1.5e-7.
fn erf(v: f32) -> f32 {
    let a = abs(v);
    let t = 1.0 / (1.0 + 0.3275911 * a);
    let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    return sign(v) * (1.0 - poly * exp(-a * a));
}

// Φ(v), the standard normal distribution function.
fn normal_cdf(v: f32) -> f32 {
    return 0.5 * (1.0 + erf(v * SQRT_HALF));
}

// f(v).
fn activate(v: f32) -> f32 {
    switch ACTIVATION {
        case RELU: {
            return max(v, 0.0);
        }
        case SIGMOID: {
            return sigmoid(v);
        }
        case TANH: {
            return tanh(v);
        }
        case ELU: {
            return select(exp(v) - 1.0, v, v > 0.0);
        }
        case SELU: {
            return SELU_SCALE * select(SELU_ALPHA * (exp(v) - 1.0), v, v > 0.0);
        }
        case GELU: {
            return v * normal_cdf(v);
        }
        case LEAKY_RELU: {
            return select(NEGATIVE_SLOPE * v, v, v > 0.0);
        }
        case SOFTPLUS: {
            return max(v, 0.0) + log(1.0 + exp(-abs(v)));
        }
        case SILU: {
            return v * sigmoid(v);
        }
        default: {
            return v;
        }
    }
}

// g · f'(v); relu's is a select rather than a multiply, so that its zero stays 0 even for an
// infinite or NaN g.
fn activation_gradient(v: f32, g: f32) -> f32 {
    switch ACTIVATION {
        case RELU: {
            return select(0.0, g, v > 0.0);
        }
        case SIGMOID: {
            let s = sigmoid(v);
            return g * s * (1.0 - s);
        }
        case TANH: {
            let t = tanh(v);
            return g * (1.0 - t * t);
        }
        case ELU: {
            return g * select(exp(v), 1.0, v > 0.0);
        }
        case SELU: {
            return g * SELU_SCALE * select(SELU_ALPHA * exp(v), 1.0, v > 0.0);
        }
        case GELU: {
            return g * (normal_cdf(v) + v * INV_SQRT_2PI * exp(-0.5 * v * v));
        }
        case LEAKY_RELU: {
            return g * select(NEGATIVE_SLOPE, 1.0, v > 0.0);
        }
        case SOFTPLUS: {
            return g * sigmoid(v);
        }
        case SILU: {
            let s = sigmoid(v);
            return g * s * (1.0 + v * (1.0 - s));
        }
        default: {
            return g;
        }
    }
}
