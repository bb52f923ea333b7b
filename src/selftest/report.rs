//! The selftest's report: a table row per check (kernel, case, worst errors, tolerance,
//! PASS/FAIL, time) and the summary line.

use super::Row;

/// The table's header line.
pub fn header() -> String {
    format!(
        "{:<4} {:<38} {:<46} {:>9} {:>9}  {:<18} {:>6}",
        "", "kernel", "case", "max |err|", "max rel", "tolerance", "ms"
    )
}

/// One row of the table; a failed check's error follows on its own line.
pub fn line(row: &Row) -> String {
    let verdict = if row.passed() { "PASS" } else { "FAIL" };
    let e = &row.errors;
    let mut text = format!(
        "{verdict:<4} {:<38} {:<46} {:>9.2e} {:>9.2e}  {:<18} {:>6.1}",
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

/// `N checks passed in T s`, or `K of N checks FAILED: kernel (its failed checks), ...`.
pub fn summary(rows: &[Row]) -> String {
    let seconds: f64 = rows.iter().map(|row| row.seconds).sum();
    let mut failed: Vec<(String, usize)> = Vec::new();
    for row in rows.iter().filter(|row| !row.passed()) {
        let kernels = row.kernel_labels();
        match failed.iter_mut().find(|(name, _)| *name == kernels) {
            Some((_, count)) => *count += 1,
            None => failed.push((kernels, 1)),
        }
    }
    if failed.is_empty() {
        return format!("{} checks passed in {seconds:.1} s", rows.len());
    }
    let count: usize = failed.iter().map(|(_, count)| count).sum();
    let names = failed
        .iter()
        .map(|(name, count)| match count {
            1 => format!("{name} (1 check)"),
            n => format!("{name} ({n} checks)"),
        })
        .collect::<Vec<_>>()
        .join(", ");
    format!("{count} of {} checks FAILED: {names}", rows.len())
}
