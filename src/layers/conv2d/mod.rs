//! 2-D convolution (NHWC, Keras kernel layout `[kh, kw, c_in, c_out]`).

pub mod geometry;
