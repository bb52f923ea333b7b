//! `gpu-cnn selftest`: every kernel against its CPU reference on this adapter, as a table, and
//! a non-zero exit when any check fails. `--kernel-source LABEL=FILE` runs a changed kernel in
//! place of the built-in one, to check it without rebuilding.

use std::path::PathBuf;

use clap::Args;
use gpu_cnn::gpu::{DeviceSelector, GpuContext, GpuError, Kernel};
use gpu_cnn::selftest::{self, report};
use gpu_cnn::Error;

/// `gpu-cnn selftest` options.
#[derive(Args, Clone, Debug)]
pub struct SelftestArgs {
    /// Adapter: auto, vulkan, metal, dx12, gl, an index or a name substring (see `devices`).
    #[arg(long, default_value = "auto")]
    pub device: DeviceSelector,
    /// Run kernel LABEL (e.g. `activation.forward`, as the table names it) from the WGSL file
    /// FILE instead of its built-in source, for this run: its shared libraries still come
    /// first. Checks a changed kernel without rebuilding. Repeatable.
    #[arg(long, value_name = "LABEL=FILE")]
    pub kernel_source: Vec<String>,
}

/// A kernel and the WGSL to run it from.
struct Replacement {
    kernel: Kernel,
    path: PathBuf,
    source: String,
}

/// Parses `LABEL=FILE` and reads the file.
fn replacement(given: &str) -> Result<Replacement, Error> {
    let invalid = |hint: String| Error::InvalidSetting {
        setting: "--kernel-source",
        value: given.to_string(),
        hint,
    };
    let labels = || {
        Kernel::ALL
            .iter()
            .map(|k| k.label())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Some((label, file)) = given.split_once('=') else {
        return Err(invalid(format!(
            "give LABEL=FILE, e.g. activation.forward=forward.wgsl; the labels are {}",
            labels()
        )));
    };
    let kernel = Kernel::from_label(label.trim()).ok_or_else(|| {
        invalid(format!(
            "there is no kernel '{label}'; the labels are {}",
            labels()
        ))
    })?;
    let path = PathBuf::from(file);
    let source = std::fs::read_to_string(&path).map_err(|error| {
        invalid(format!(
            "could not read {} as WGSL text: {error}; give a readable .wgsl file",
            path.display()
        ))
    })?;
    Ok(Replacement {
        kernel,
        path,
        source,
    })
}

/// What to do when a check fails on `ctx`.
fn failed(ctx: &GpuContext, failed: usize, total: usize, replaced: bool) -> Error {
    let hint = if replaced {
        "a kernel ran from --kernel-source: compare its rows with a run without it".to_string()
    } else {
        format!(
            "this adapter computes some kernels wrongly (driver: {} {}). Update the GPU driver, \
             try another backend or adapter with --device (`gpu-cnn devices` lists them; \
             lavapipe is the reference), and report it with the output of `gpu-cnn devices` \
             and `gpu-cnn selftest`",
            ctx.info.driver, ctx.info.driver_info
        )
    };
    GpuError::Wgpu {
        context: format!("the selftest on {}", ctx.describe()),
        message: format!("{failed} of {total} checks failed; {hint}"),
    }
    .into()
}

/// Runs every check and prints the table; fails when any check failed.
pub fn run(args: SelftestArgs) -> Result<(), Error> {
    let replacements = args
        .kernel_source
        .iter()
        .map(|given| replacement(given))
        .collect::<Result<Vec<_>, _>>()?;
    let ctx = GpuContext::new(&args.device)?;
    say!("Adapter: {}", ctx.describe())?;
    say!("Driver:  {} {}", ctx.info.driver, ctx.info.driver_info)?;
    for r in &replacements {
        let origin = r.path.display().to_string();
        ctx.replace_kernel_source(r.kernel, &origin, &r.source)?;
        say!("Kernel:  {} from {origin}", r.kernel.label())?;
    }
    say!()?;
    say!("{}", report::header())?;
    let mut printed = Ok(());
    let rows = selftest::run_with(&ctx, |row| {
        if printed.is_ok() {
            printed = say!("{}", report::line(row));
        }
    });
    printed?;
    say!()?;
    say!("{}", report::summary(&rows))?;
    let failures = rows.iter().filter(|row| !row.passed()).count();
    if failures > 0 {
        return Err(failed(&ctx, failures, rows.len(), !replacements.is_empty()));
    }
    Ok(())
}
