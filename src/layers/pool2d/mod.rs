//! 2-D max and average pooling (NHWC, valid padding).

pub mod geometry;
