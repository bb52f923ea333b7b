//! `--report DIR`: the pictures and tables of an evaluation and of a training history, written
//! from the library's results.

use std::path::{Path, PathBuf};

use gpu_cnn::data::{DataNames, Dataset};
use gpu_cnn::evaluate::{confusion_matrix, Predictions};
use gpu_cnn::report::{self, confusion, history, samples, HistoryRow, ReportError};
use gpu_cnn::train::EpochStats;

/// Misclassified test images shown in `mistakes.png`.
const MISTAKES_SHOWN: usize = 20;

/// Writes `confusion_matrix.txt`, `confusion_matrix.png` and `mistakes.png`, titled and
/// captioned with `names`; returns the confusion matrix's text.
pub fn evaluation(
    dir: &Path,
    test: &Dataset,
    predictions: &Predictions,
    names: &DataNames,
) -> Result<String, ReportError> {
    let predicted = predictions.classes_predicted();
    let matrix = confusion_matrix(&test.labels, &predicted, predictions.classes);
    let mut table = confusion::text(&matrix);
    if let Some(key) = names.key(predictions.classes) {
        table += &format!("Classes: {key}\n");
    }
    report::write_text(&dir.join("confusion_matrix.txt"), &table)?;
    let title = confusion::title(&names.title);
    confusion::png(&dir.join("confusion_matrix.png"), &matrix, &title)?;
    let mistakes: Vec<usize> = (0..test.len())
        .filter(|&i| usize::from(test.labels[i]) != predicted[i])
        .take(MISTAKES_SHOWN)
        .collect();
    let mistakes_png = dir.join("mistakes.png");
    if mistakes.is_empty() {
        report::remove_stale(&mistakes_png)?;
    } else {
        let images: Vec<&[u8]> = mistakes.iter().map(|&i| test.image(i)).collect();
        let captions: Vec<String> = mistakes
            .iter()
            .map(|&i| {
                let label = usize::from(test.labels[i]);
                format!(
                    "label {} → {}",
                    names.class(label),
                    names.class(predicted[i])
                )
            })
            .collect();
        samples::png(&mistakes_png, &images, test.rows, test.cols, &captions, 10)?;
    }
    Ok(table)
}

/// The history's rows for the report's table and curves.
fn history_rows(epochs: &[EpochStats]) -> Vec<HistoryRow> {
    epochs
        .iter()
        .map(|e| HistoryRow {
            epoch: e.epoch,
            loss: e.loss,
            accuracy: e.accuracy,
            val_loss: e.validation.map(|v| v.loss),
            val_accuracy: e.validation.map(|v| v.accuracy),
            seconds: e.seconds,
        })
        .collect()
}

/// The history as CSV, one line per epoch (`history.csv`, and `train --log`).
pub fn history_csv(epochs: &[EpochStats]) -> String {
    history::csv(&history_rows(epochs))
}

/// Writes `history.csv` and `history.png`.
pub fn training(dir: &Path, epochs: &[EpochStats]) -> Result<(), ReportError> {
    let rows = history_rows(epochs);
    report::write_text(&dir.join("history.csv"), &history::csv(&rows))?;
    let history_png = dir.join("history.png");
    if rows.is_empty() {
        report::remove_stale(&history_png)?;
    } else {
        history::png(&history_png, &rows)?;
    }
    Ok(())
}

/// Prepares `dir` before any long work, so a bad directory fails at once.
pub fn prepare(dir: Option<&PathBuf>) -> Result<(), ReportError> {
    dir.map_or(Ok(()), |dir| report::ensure_dir(dir))
}
