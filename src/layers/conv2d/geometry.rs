//! Keras's output-size and padding rules for one spatial axis of a convolution.

use crate::layers::shape::Padding;

/// Output length and zero padding before the first element along one axis, or `None` when the
/// output would be empty (a `valid` window larger than the input), a size is zero, or the
/// padding would overflow.
///
/// `valid`: `out = floor((input - kernel) / stride) + 1`, no padding.
/// `same`: `out = ceil(input / stride)`, total padding `max((out - 1)·stride + kernel - input, 0)`
/// split with the smaller half before (as TensorFlow does).
pub fn output_extent(
    input: usize,
    kernel: usize,
    stride: usize,
    padding: Padding,
) -> Option<(usize, usize)> {
    if input == 0 || kernel == 0 || stride == 0 {
        return None;
    }
    match padding {
        Padding::Valid => (input >= kernel).then(|| ((input - kernel) / stride + 1, 0)),
        Padding::Same => {
            let out = input.div_ceil(stride);
            // `(out - 1)·stride < input`, but a kernel given in code may be near `usize::MAX`.
            let total = ((out - 1) * stride)
                .checked_add(kernel)?
                .saturating_sub(input);
            Some((out, total / 2))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_and_same_follow_keras() {
        assert_eq!(output_extent(28, 3, 1, Padding::Valid), Some((26, 0)));
        assert_eq!(output_extent(13, 3, 1, Padding::Valid), Some((11, 0)));
        assert_eq!(output_extent(28, 3, 2, Padding::Valid), Some((13, 0)));
        assert_eq!(output_extent(2, 3, 1, Padding::Valid), None);
        assert_eq!(output_extent(28, 3, 1, Padding::Same), Some((28, 1)));
        // Even kernel: total padding 1 goes after.
        assert_eq!(output_extent(28, 2, 1, Padding::Same), Some((28, 0)));
        // Stride 2 on an odd input: out = ceil(7 / 2) = 4, total padding (3·2 + 3 − 7) = 2.
        assert_eq!(output_extent(7, 3, 2, Padding::Same), Some((4, 1)));
        assert_eq!(output_extent(8, 3, 2, Padding::Same), Some((4, 0)));
        // A kernel near usize::MAX overflows the padding: no output, not a wrapped one.
        assert_eq!(output_extent(7, usize::MAX - 1, 2, Padding::Same), None);
    }
}
