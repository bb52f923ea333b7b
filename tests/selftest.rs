//! `gpu-cnn selftest`: on the test adapter every check passes, every kernel is checked, and the
//! worst errors are real, finite and within tolerance; the command prints its table and exits 0
//! on every backend (`GPU_CNN_TEST_BACKENDS`, default `vulkan,gl`); a kernel broken on purpose
//! through `--kernel-source` (one operation changed: its result scaled by 1.001) fails exactly
//! its own rows, loudly; a kernel file that does not compile, an unknown kernel label, a
//! missing file and a malformed value are clear errors.

mod common;

use std::fs;

use common::cli::{fails_with, gpu_cnn, stdout_of};
use common::context;
use gpu_cnn::gpu::Kernel;
use gpu_cnn::selftest::{self, Row};
use tempfile::TempDir;

/// The label of the kernel the tests break.
const BROKEN: &str = "activation.forward";

/// `shaders/activation/forward.wgsl` with its result scaled by 1.001, in a temporary directory.
fn broken_kernel() -> (TempDir, String) {
    let original = Kernel::ActivationForward.file();
    let line = "y[i] = activate(x[i]);";
    assert!(original.contains(line), "the kernel's store has changed");
    let dir = TempDir::new().expect("temp dir");
    let path = dir.path().join("forward.wgsl");
    fs::write(
        &path,
        original.replace(line, "y[i] = activate(x[i]) * 1.001;"),
    )
    .expect("write");
    let path = path.display().to_string();
    (dir, path)
}

fn failures(rows: &[Row]) -> Vec<String> {
    rows.iter()
        .filter(|row| !row.passed())
        .map(|row| {
            format!(
                "{} ({}): {:?} {:?}",
                row.kernel_labels(),
                row.case,
                row.errors,
                row.failure
            )
        })
        .collect()
}

#[test]
fn selftest_passes_on_the_test_adapter_with_every_kernel_and_real_errors() {
    let ctx = context();
    let rows = selftest::run(&ctx);
    assert!(
        failures(&rows).is_empty(),
        "failed checks:\n{}",
        failures(&rows).join("\n")
    );
    for kernel in Kernel::ALL {
        assert!(
            rows.iter().any(|row| row.kernels.contains(&kernel)),
            "no check launches {}",
            kernel.label()
        );
    }
    for row in &rows {
        let e = &row.errors;
        assert!(e.compared > 0 && e.non_finite == 0, "{}: {e:?}", row.case);
        assert!(
            e.worst_abs.is_finite() && e.worst_rel.is_finite(),
            "{}: {e:?}",
            row.case
        );
        assert!(e.worst_share <= 1.0, "{}: {e:?}", row.case);
    }
    // Rounding differs between the device's exp, tanh and fma and the references': a selftest
    // whose errors are all zero could not tell a tolerance from none.
    let inexact = rows.iter().filter(|row| row.errors.worst_abs > 0.0).count();
    assert!(
        inexact >= 10,
        "only {inexact} of {} checks have any error",
        rows.len()
    );
}

#[test]
fn a_kernel_replaced_by_a_broken_source_fails_its_own_checks_only() {
    let ctx = context();
    let (_dir, path) = broken_kernel();
    let source = fs::read_to_string(&path).expect("read");
    ctx.replace_kernel_source(Kernel::ActivationForward, &path, &source)
        .expect("the broken kernel compiles");
    let rows = selftest::run(&ctx);
    let (broken, others): (Vec<&Row>, Vec<&Row>) = rows
        .iter()
        .partition(|row| row.kernels.contains(&Kernel::ActivationForward));
    assert_eq!(
        broken.len(),
        10,
        "one forward check per activation function"
    );
    for row in broken {
        assert!(!row.passed(), "{} passed with a broken kernel", row.case);
        // 1.001·y against y: a relative error of 1e-3 where the tolerance is 1e-5.
        assert!(
            (row.errors.worst_rel - 1e-3).abs() < 2e-4 && row.errors.worst_share > 50.0,
            "{}: {:?}",
            row.case,
            row.errors
        );
    }
    for row in others {
        assert!(row.passed(), "{} failed: {:?}", row.case, row.errors);
    }
}

#[test]
fn cli_selftest_prints_its_table_and_exits_0_on_every_backend() {
    let backends = std::env::var("GPU_CNN_TEST_BACKENDS").unwrap_or_else(|_| "vulkan,gl".into());
    for backend in backends.split(',') {
        let out = stdout_of(gpu_cnn().args(["selftest", "--device", backend]));
        assert!(out.starts_with("Adapter: ["), "{backend}:\n{out}");
        assert!(
            out.contains("max |err|") && out.contains("tolerance"),
            "{backend}:\n{out}"
        );
        let checks = out.lines().filter(|l| l.starts_with("PASS ")).count();
        assert!(!out.contains("FAIL"), "{backend}:\n{out}");
        assert!(
            checks > Kernel::ALL.len(),
            "{backend}: {checks} rows:\n{out}"
        );
        assert!(
            out.contains(&format!("{checks} checks passed in ")),
            "{backend}:\n{out}"
        );
    }
}

#[test]
fn cli_selftest_with_a_broken_kernel_source_fails_loudly_on_its_rows() {
    let (_dir, path) = broken_kernel();
    let output = gpu_cnn()
        .args(["selftest", "--device", "vulkan", "--kernel-source"])
        .arg(format!("{BROKEN}={path}"))
        .assert()
        .failure()
        .get_output()
        .clone();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(
        stdout.contains(&format!("Kernel:  {BROKEN} from {path}")),
        "{stdout}"
    );
    let rows: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("PASS ") || l.starts_with("FAIL "))
        .collect();
    let failed: Vec<&&str> = rows.iter().filter(|l| l.starts_with("FAIL ")).collect();
    assert_eq!(failed.len(), 10, "{stdout}");
    for line in &failed {
        assert_eq!(line.split_whitespace().nth(1), Some(BROKEN), "{line}");
    }
    assert!(stdout.contains("× its tolerance"), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "10 of {} checks FAILED: {BROKEN} (10 checks)",
            rows.len()
        )),
        "{stdout}"
    );
    assert!(
        stderr.contains("10 of") && stderr.contains("--kernel-source"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn cli_selftest_refuses_a_kernel_source_that_does_not_compile_naming_the_file() {
    let dir = TempDir::new().expect("temp dir");
    let path = dir.path().join("step.wgsl");
    fs::write(&path, "fn broken( {\n").expect("write");
    let path = path.display().to_string();
    let stderr = fails_with(
        gpu_cnn()
            .args(["selftest", "--device", "vulkan", "--kernel-source"])
            .arg(format!("sgd.step={path}")),
        &[&path, "sgd.step", "parsing error", "expected identifier"],
    );
    assert!(stderr.contains("lines of its libraries first"), "{stderr}");
}

#[test]
fn cli_selftest_refuses_unknown_labels_missing_files_and_malformed_values() {
    let dir = TempDir::new().expect("temp dir");
    let path = dir.path().join("forward.wgsl");
    fs::write(&path, Kernel::ActivationForward.file()).expect("write");
    let path = path.display().to_string();
    let missing = dir.path().join("missing.wgsl").display().to_string();
    let cases = [
        (
            format!("activation.sideways={path}"),
            vec!["there is no kernel 'activation.sideways'", BROKEN],
        ),
        (
            format!("{BROKEN}={missing}"),
            vec!["could not read", &missing],
        ),
        (path.clone(), vec!["give LABEL=FILE"]),
    ];
    for (value, needles) in &cases {
        let stderr = fails_with(
            gpu_cnn().args(["selftest", "--kernel-source", value]),
            &needles.iter().map(|s| s.as_ref()).collect::<Vec<&str>>(),
        );
        assert!(stderr.contains("invalid --kernel-source"), "{stderr}");
    }
    fails_with(
        gpu_cnn().args(["selftest", "--device", "no-such-adapter"]),
        &["no adapter matches --device 'no-such-adapter'"],
    );
}
