//! The selftest's report: a table row per check (kernel, case, worst errors, tolerance,
//! PASS/FAIL, time) and the summary line.

use super::Row;

/// The table's header line.
pub fn header() -> String {
    format!(
        "{:<4} {:<48} {:<52} {:>9} {:>9}  {:<18} {:>7}",
        "", "kernel", "case", "max |err|", "max rel", "tolerance", "ms"
    )
}

/// One row of the table; a failed check's error follows on its own line.
pub fn line(row: &Row) -> String {
    let verdict = if row.passed() { "PASS" } else { "FAIL" };
    let e = &row.errors;
    let mut text = format!(
        "{verdict:<4} {:<48} {:<52} {:>9.2e} {:>9.2e}  {:<18} {:>7.1}",
        row.kernel_labels(),
        row.case,
        e.worst_abs,
        e.worst_rel,
        row.tolerance.to_string(),
        row.seconds * 1e3
    );
    let why = match (&row.failure, e) {
        (Some(failure), _) => Some(failure.clone()),
        (None, e) if e.non_finite > 0 => Some(format!(
            "{} of {} values NaN or infinite (unwritten or overflowed)",
            e.non_finite, e.compared
        )),
        (None, e) if e.length_mismatch => {
            Some("an output's length differs from its reference".into())
        }
        (None, e) if e.compared == 0 => Some("nothing was compared".into()),
        (None, e) if e.worst_share > 1.0 => Some(format!(
            "worst element is {:.3}× its tolerance",
            e.worst_share
        )),
        _ => None,
    };
    if let Some(why) = why {
        text.push_str(&format!("\n     └ {why}"));
    }
    text
}

/// `N checks passed`, or `K of N checks FAILED: kernel (case), ...`.
pub fn summary(rows: &[Row]) -> String {
    let failed: Vec<&Row> = rows.iter().filter(|row| !row.passed()).collect();
    if failed.is_empty() {
        return format!("{} checks passed", rows.len());
    }
    let names = failed
        .iter()
        .map(|row| format!("{} ({})", row.kernel_labels(), row.case))
        .collect::<Vec<_>>()
        .join(", ");
    format!("{} of {} checks FAILED: {names}", failed.len(), rows.len())
}
