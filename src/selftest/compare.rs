//! The comparison of a kernel's output with its CPU reference, and its statistics: the worst
//! absolute and relative error, and how much of the tolerance the worst element used.
//!
//! An element passes when `|gpu − cpu| ≤ atol + rtol·|cpu|`; a NaN or infinity on either side
//! never does.

use std::fmt;

/// `|gpu − cpu| ≤ atol + rtol·|cpu|`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerance {
    /// Absolute part.
    pub atol: f32,
    /// Relative part.
    pub rtol: f32,
}

impl Tolerance {
    /// Bit-for-bit agreement.
    pub const EXACT: Self = Self::new(0.0, 0.0);

    /// `atol + rtol·|cpu|`.
    pub const fn new(atol: f32, rtol: f32) -> Self {
        Self { atol, rtol }
    }

    /// The largest difference allowed from the reference value `cpu`.
    pub fn bound(&self, cpu: f32) -> f32 {
        self.atol + self.rtol * cpu.abs()
    }
}

impl fmt::Display for Tolerance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == Self::EXACT {
            write!(f, "exact")
        } else {
            write!(f, "{:.0e} + {:.0e}·|cpu|", self.atol, self.rtol)
        }
    }
}

/// What a comparison (or several, merged) found.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Errors {
    /// The largest `|gpu − cpu|` over finite pairs.
    pub worst_abs: f32,
    /// The largest `|gpu − cpu| / |cpu|` over finite pairs whose reference is not zero.
    pub worst_rel: f32,
    /// The largest `|gpu − cpu| / (atol + rtol·|cpu|)`: above 1, some element failed.
    pub worst_share: f32,
    /// Elements compared.
    pub compared: usize,
    /// Elements where either side was NaN or infinite.
    pub non_finite: usize,
    /// Whether some output had another length than its reference.
    pub length_mismatch: bool,
}

impl Errors {
    /// Whether every element was within tolerance (and there was something to compare).
    pub fn passes(&self) -> bool {
        self.compared > 0
            && self.non_finite == 0
            && !self.length_mismatch
            && self.worst_share <= 1.0
    }

    /// Adds the findings of another comparison.
    pub fn merge(&mut self, other: Errors) {
        self.worst_abs = self.worst_abs.max(other.worst_abs);
        self.worst_rel = self.worst_rel.max(other.worst_rel);
        self.worst_share = self.worst_share.max(other.worst_share);
        self.compared += other.compared;
        self.non_finite += other.non_finite;
        self.length_mismatch |= other.length_mismatch;
    }
}

/// `|gpu − cpu|` over the bound, or `None` when either side is not finite.
fn share(gpu: f32, cpu: f32, tolerance: Tolerance) -> Option<(f32, f32)> {
    if !(gpu.is_finite() && cpu.is_finite()) {
        return None;
    }
    let err = (gpu - cpu).abs();
    let bound = tolerance.bound(cpu);
    let share = if err == 0.0 {
        0.0
    } else if bound == 0.0 {
        f32::INFINITY
    } else {
        err / bound
    };
    Some((err, share))
}

/// Compares `gpu` with its reference `cpu` element by element.
pub fn compare(gpu: &[f32], cpu: &[f32], tolerance: Tolerance) -> Errors {
    let mut errors = Errors {
        length_mismatch: gpu.len() != cpu.len(),
        ..Errors::default()
    };
    for (&g, &c) in gpu.iter().zip(cpu) {
        errors.compared += 1;
        let Some((err, share)) = share(g, c, tolerance) else {
            errors.non_finite += 1;
            continue;
        };
        errors.worst_abs = errors.worst_abs.max(err);
        if c != 0.0 {
            errors.worst_rel = errors.worst_rel.max(err / c.abs());
        }
        errors.worst_share = errors.worst_share.max(share);
    }
    errors
}

/// The index of the first element of `gpu` outside tolerance of `cpu` (NaN included), for
/// messages that show it; the lengths are the caller's to check.
pub fn first_violation(gpu: &[f32], cpu: &[f32], tolerance: Tolerance) -> Option<usize> {
    gpu.iter()
        .zip(cpu)
        .position(|(&g, &c)| share(g, c, tolerance).is_none_or(|(_, share)| share > 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worst_errors_and_the_share_of_tolerance_are_those_of_the_worst_elements() {
        let tolerance = Tolerance::new(0.1, 0.1);
        let errors = compare(&[1.0, 2.5, 0.05], &[1.0, 2.0, 0.0], tolerance);
        assert_eq!(errors.worst_abs, 0.5);
        assert_eq!(errors.worst_rel, 0.25);
        // 0.5 / (0.1 + 0.1·2) and 0.05 / 0.1
        assert!((errors.worst_share - 0.5 / 0.3).abs() < 1e-6);
        assert!(!errors.passes());
        assert_eq!(
            first_violation(&[1.0, 2.5], &[1.0, 2.0], tolerance),
            Some(1)
        );
    }

    #[test]
    fn nan_and_length_mismatch_fail_and_exact_needs_equality() {
        let nan = compare(&[f32::NAN], &[1.0], Tolerance::new(1.0, 1.0));
        assert_eq!(nan.non_finite, 1);
        assert!(!nan.passes());
        assert_eq!(
            first_violation(&[f32::NAN], &[1.0], Tolerance::EXACT),
            Some(0)
        );
        assert!(!compare(&[1.0], &[1.0, 2.0], Tolerance::EXACT).passes());
        assert!(compare(&[3.0], &[3.0], Tolerance::EXACT).passes());
        assert!(!compare(&[3.0], &[3.0 + f32::EPSILON * 4.0], Tolerance::EXACT).passes());
        assert!(!compare(&[], &[], Tolerance::EXACT).passes());
    }
}
