//! Whether a data set fits a model, checked before any GPU work: the image size and channels
//! the model takes, and labels below its number of classes. A misfit is an error naming both
//! sides; nothing is adapted silently (a model trained on other images saves the size it was
//! trained on, see [`crate::checkpoint`]).

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::model::ModelSpec;

/// The `[height, width, channels]` of `data`'s images (IDX images have one channel).
pub fn image_shape(data: &Dataset) -> [usize; 3] {
    [data.rows, data.cols, 1]
}

/// Fails unless `data` (described as `what`, e.g. "the test set of DIR") has the model's
/// image size and channels and every label is below its `classes`; `fix` says what to change
/// when the sizes differ.
pub fn check(spec: &ModelSpec, data: &Dataset, what: &str, fix: &str) -> Result<()> {
    let shape = image_shape(data);
    if shape != spec.input {
        let [h, w, c] = shape;
        let [mh, mw, mc] = spec.input;
        return Err(Error::Mismatch {
            data: what.to_string(),
            model: spec.name.clone(),
            problem: format!("its images are {h}×{w}×{c} but the model takes {mh}×{mw}×{mc}"),
            hint: fix.to_string(),
        });
    }
    check_labels(spec, data, what)
}

/// Fails when a label of `data` is not below the model's `classes` (the loss would read
/// another sample's outputs).
pub fn check_labels(spec: &ModelSpec, data: &Dataset, what: &str) -> Result<()> {
    match data
        .labels
        .iter()
        .enumerate()
        .find(|&(_, &label)| usize::from(label) >= spec.classes)
    {
        Some((index, &label)) => Err(Error::Mismatch {
            data: what.to_string(),
            model: spec.name.clone(),
            problem: format!(
                "sample {index} has label {label} but the model has classes = {}",
                spec.classes
            ),
            hint: format!(
                "give the model classes = {} or more, or data labelled 0 to {}",
                usize::from(label) + 1,
                spec.classes.saturating_sub(1)
            ),
        }),
        None => Ok(()),
    }
}

/// Fails when `data` has no samples: there is nothing to test or predict.
pub fn check_not_empty(data: &Dataset, what: &str) -> Result<()> {
    if data.is_empty() {
        return Err(Error::EmptyData {
            data: what.to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::presets::preset;

    fn images(rows: usize, cols: usize, labels: Vec<u8>) -> Dataset {
        Dataset {
            images: vec![0; labels.len() * rows * cols],
            labels,
            rows,
            cols,
        }
    }

    #[test]
    fn another_image_size_names_both_sizes_and_the_fix() {
        let spec = preset("dense").unwrap();
        let message = check(&spec, &images(8, 9, vec![1]), "the test set", "retrain it")
            .unwrap_err()
            .to_string();
        assert!(message.contains("8×9×1"), "{message}");
        assert!(message.contains("28×28×1"), "{message}");
        assert!(message.contains("retrain it"), "{message}");
        assert!(check(&spec, &images(28, 28, vec![9, 0]), "data", "").is_ok());
    }

    #[test]
    fn a_label_at_or_over_classes_is_refused_naming_the_sample() {
        let mut spec = preset("dense").unwrap();
        spec.classes = 3;
        let message = check_labels(&spec, &images(28, 28, vec![0, 2, 3, 9]), "data")
            .unwrap_err()
            .to_string();
        assert!(message.contains("sample 2 has label 3"), "{message}");
        assert!(message.contains("classes = 4 or more"), "{message}");
        assert!(check_labels(&spec, &images(28, 28, vec![0, 2, 1]), "data").is_ok());
    }

    #[test]
    fn an_empty_set_is_refused() {
        assert!(check_not_empty(&images(28, 28, vec![]), "the test set").is_err());
        assert!(check_not_empty(&images(28, 28, vec![4]), "the test set").is_ok());
    }
}
