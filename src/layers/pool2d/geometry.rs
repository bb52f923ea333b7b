//! Keras's output-size rule for one axis of a pooling layer (valid padding).

/// `floor((input - pool) / stride) + 1`, or `None` when the window is larger than the input or
/// a size is zero.
pub fn output_extent(input: usize, pool: usize, stride: usize) -> Option<usize> {
    if input == 0 || pool == 0 || stride == 0 || input < pool {
        return None;
    }
    Some((input - pool) / stride + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floor_on_odd_sizes() {
        assert_eq!(output_extent(26, 2, 2), Some(13));
        assert_eq!(output_extent(11, 2, 2), Some(5));
        assert_eq!(output_extent(3, 2, 2), Some(1));
        assert_eq!(output_extent(1, 2, 2), None);
        assert_eq!(output_extent(7, 3, 1), Some(5));
    }
}
