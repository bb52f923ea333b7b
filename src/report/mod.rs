//! Reports for people: text tables (the Keras-style model summary) and, later, PNG plots
//! (confusion heatmap, training curves, samples, label histogram).

pub mod summary;

pub use summary::summary;
