//! The report layer: every PNG is a real, non-blank picture of the stated size, written
//! atomically; the text tables add up and line up; bad directories give a `ReportError` that
//! names the path and leave nothing behind.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use gpu_cnn::report::{
    compare, confusion, ensure_dir, histogram, history, samples, CompareRow, HistoryRow,
    ReportError,
};

/// A plausible MNIST test-set confusion matrix (10,000 images), deliberately not symmetric.
fn mnist_matrix() -> Vec<Vec<usize>> {
    let diagonal = [973, 1127, 1012, 995, 961, 874, 940, 1010, 955, 985];
    let totals = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009];
    (0..10)
        .map(|r| {
            let mut row = vec![0; 10];
            row[r] = diagonal[r];
            let mut rest = totals[r] - diagonal[r];
            let mut c = (r * 3 + 2) % 10;
            while rest > 0 {
                if c != r {
                    let take = rest.min(1 + (r + c) % 5);
                    row[c] += take;
                    rest -= take;
                }
                c = (c + 7) % 10;
            }
            row
        })
        .collect()
}

/// The lecture's second training run (validation split 0.1), epochs 1-5.
fn lecture_history(validation: bool) -> Vec<HistoryRow> {
    let metrics = [
        (0.1895, 0.9423, 0.0558, 0.9830, 36.0),
        (0.0539, 0.9830, 0.0380, 0.9878, 34.0),
        (0.0375, 0.9883, 0.0320, 0.9903, 33.0),
        (0.0288, 0.9907, 0.0360, 0.9902, 24.0),
        (0.0243, 0.9920, 0.0349, 0.9902, 17.0),
    ];
    metrics
        .iter()
        .enumerate()
        .map(
            |(i, &(loss, accuracy, val_loss, val_accuracy, seconds))| HistoryRow {
                epoch: i + 1,
                loss,
                accuracy,
                val_loss: validation.then_some(val_loss),
                val_accuracy: validation.then_some(val_accuracy),
                seconds,
            },
        )
        .collect()
}

/// Three of the lecture's models.
fn lecture_models() -> Vec<CompareRow> {
    vec![
        CompareRow {
            model: "dense".into(),
            params: 101_770,
            seconds_per_epoch: 5.6,
            val_accuracy: None,
            test_accuracy: 0.9737,
        },
        CompareRow {
            model: "cnn".into(),
            params: 93_322,
            seconds_per_epoch: 28.8,
            val_accuracy: Some(0.9902),
            test_accuracy: 0.9891,
        },
        CompareRow {
            model: "cnn_dropout".into(),
            params: 1_199_882,
            seconds_per_epoch: 7.4,
            val_accuracy: Some(0.9887),
            test_accuracy: 0.9875,
        },
    ]
}

/// A 28×28 stroke: a ring whose radius depends on `seed`, ink 0-255 like MNIST.
fn fake_digit(seed: usize) -> Vec<u8> {
    let radius = 6.0 + seed as f64;
    (0..28 * 28)
        .map(|p| {
            let (y, x) = ((p / 28) as f64 - 13.5, (p % 28) as f64 - 13.5);
            let d = ((x * x + y * y).sqrt() - radius).abs();
            (255.0 * (1.0 - d / 2.0).max(0.0)) as u8
        })
        .collect()
}

/// Label counts like the lecture's 5,000-image subsample.
const COUNTS: [usize; 10] = [479, 563, 488, 513, 483, 452, 501, 532, 482, 507];

/// Decodes `path` as a PNG, checks its size and that it holds at least `min_colours` colours;
/// returns the set of colours.
fn decode(path: &Path, size: (u32, u32), min_colours: usize) -> HashSet<[u8; 3]> {
    let bytes =
        fs::read(path).unwrap_or_else(|e| panic!("{} was not written: {e}", path.display()));
    assert_eq!(
        &bytes[..8],
        b"\x89PNG\r\n\x1a\n",
        "{} is not a PNG",
        path.display()
    );
    let picture = image::load_from_memory_with_format(&bytes, image::ImageFormat::Png)
        .unwrap_or_else(|e| panic!("{} does not decode: {e}", path.display()))
        .to_rgb8();
    assert_eq!(picture.dimensions(), size, "{}", path.display());
    let colours: HashSet<[u8; 3]> = picture.pixels().map(|p| p.0).collect();
    assert!(
        colours.len() >= min_colours,
        "{} has only {} colours: blank?",
        path.display(),
        colours.len()
    );
    colours
}

/// The names in `dir`, sorted (to prove no temporary or partial file is left).
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A path that can never be a directory: `<tmp>/file.txt/sub`, `file.txt` a regular file.
fn under_a_file(tmp: &Path) -> PathBuf {
    let file = tmp.join("file.txt");
    fs::write(&file, "not a directory").unwrap();
    file.join("sub")
}

#[test]
fn confusion_png_is_an_800x600_blues_heatmap() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("confusion.png");
    confusion::png(&path, &mnist_matrix(), &confusion::title("MNIST")).unwrap();
    let colours = decode(&path, (800, 600), 20);
    // The largest count gets the darkest Blues colour, the smallest the lightest.
    assert!(
        colours.contains(&[0x08, 0x30, 0x6b]),
        "no darkest-blue cell"
    );
    assert!(
        colours.contains(&[0xf7, 0xfb, 0xff]),
        "no lightest-blue cell"
    );
    assert_eq!(names(tmp.path()), ["confusion.png"]);
}

#[test]
fn confusion_text_rows_and_columns_add_up_to_the_totals() {
    let matrix = mnist_matrix();
    let text = confusion::text(&matrix);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 12, "header, 10 rows, totals:\n{text}");
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(
        header[1..11],
        ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]
    );
    let numbers = |line: &str| -> Vec<usize> {
        line.split_whitespace()
            .skip(1)
            .map(|n| n.parse().unwrap())
            .collect()
    };
    let mut column_sums = [0; 10];
    for (r, line) in lines[1..11].iter().enumerate() {
        assert!(line.trim_start().starts_with(&r.to_string()), "{line}");
        let cells = numbers(line);
        assert_eq!(cells.len(), 11, "{line}");
        assert_eq!(cells[..10], matrix[r][..], "{line}");
        assert_eq!(
            cells[..10].iter().sum::<usize>(),
            cells[10],
            "row {r} total"
        );
        for (sum, cell) in column_sums.iter_mut().zip(&cells) {
            *sum += cell;
        }
    }
    let totals = numbers(lines[11]);
    assert_eq!(totals[..10], column_sums, "column totals");
    assert_eq!(totals[10], 10_000, "grand total");
    assert_eq!(totals[..10].iter().sum::<usize>(), totals[10]);
    let widths: HashSet<usize> = lines.iter().map(|l| l.chars().count()).collect();
    assert_eq!(widths.len(), 1, "lines differ in width:\n{text}");
}

#[test]
fn confusion_png_rejects_a_non_square_matrix_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("confusion.png");
    let error = confusion::png(&path, &[vec![1, 2], vec![3]], "t").unwrap_err();
    assert!(matches!(error, ReportError::Input { .. }), "{error:?}");
    assert!(error.to_string().contains("confusion.png"), "{error}");
    assert!(names(tmp.path()).is_empty());
}

#[test]
fn history_png_is_1000x400_with_and_without_validation() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, validation) in [("with.png", true), ("without.png", false)] {
        let path = tmp.path().join(name);
        history::png(&path, &lecture_history(validation)).unwrap();
        let colours = decode(&path, (1000, 400), 10);
        // matplotlib's tab:blue train curve; tab:orange only with validation.
        assert!(
            colours.contains(&[0x1f, 0x77, 0xb4]),
            "{name}: no train curve"
        );
        assert_eq!(colours.contains(&[0xff, 0x7f, 0x0e]), validation, "{name}");
    }
    // A single epoch and a diverged (NaN) loss still draw.
    let mut rows = lecture_history(true);
    rows.truncate(1);
    rows[0].loss = f64::NAN;
    history::png(&tmp.path().join("one.png"), &rows).unwrap();
    decode(&tmp.path().join("one.png"), (1000, 400), 10);
    assert_eq!(names(tmp.path()), ["one.png", "with.png", "without.png"]);
}

#[test]
fn history_csv_has_the_header_and_one_line_per_epoch() {
    let csv = history::csv(&lecture_history(true));
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "epoch,loss,accuracy,val_loss,val_accuracy,seconds"
    );
    assert_eq!(lines.len(), 6);
    assert_eq!(lines[1], "1,0.1895,0.9423,0.0558,0.983,36");

    let csv = history::csv(&lecture_history(false));
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 6);
    for (i, line) in lines[1..].iter().enumerate() {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells.len(), 6, "{line}");
        assert_eq!(cells[0], (i + 1).to_string());
        assert_eq!(
            cells[3..5],
            ["", ""],
            "validation cells must be empty: {line}"
        );
    }
    assert_eq!(history::csv(&[]).lines().count(), 1);
}

#[test]
fn samples_png_is_a_captioned_grid_of_binary_images() {
    let tmp = tempfile::tempdir().unwrap();
    let digits: Vec<Vec<u8>> = (0..7).map(fake_digit).collect();
    let images: Vec<&[u8]> = digits.iter().map(Vec::as_slice).collect();
    let captions: Vec<String> = (0..7).map(|i| format!("label {i} → {}", 9 - i)).collect();

    let one_row = tmp.path().join("row.png");
    samples::png(&one_row, &images[..5], 28, 28, &captions[..5], 5).unwrap();
    let grid = tmp.path().join("grid.png");
    samples::png(&grid, &images, 28, 28, &captions, 4).unwrap();

    let picture = |path: &Path| image::open(path).unwrap().to_rgb8();
    let (row, two) = (picture(&one_row), picture(&grid));
    // Each 28×28 image is drawn at 4× (112 pixels) with room for its caption.
    assert!(
        row.width() >= 5 * 112 && row.height() >= 112 + 20,
        "{:?}",
        row.dimensions()
    );
    assert!(two.height() >= 2 * (112 + 20), "{:?}", two.dimensions());
    assert!(two.height() > row.height() && two.width() < row.width());
    let colours = decode(&one_row, row.dimensions(), 10);
    // binary: full ink (255) is black, background (0) white.
    assert!(colours.contains(&[0, 0, 0]) && colours.contains(&[255, 255, 255]));
    decode(&grid, two.dimensions(), 10);

    let error = samples::png(
        &tmp.path().join("bad.png"),
        &images,
        28,
        28,
        &captions[..2],
        4,
    )
    .unwrap_err();
    assert!(error.to_string().contains("bad.png"), "{error}");
    let error = samples::png(
        &tmp.path().join("bad.png"),
        &[&[0u8; 10][..]],
        28,
        28,
        &captions[..1],
        4,
    )
    .unwrap_err();
    assert!(error.to_string().contains("784"), "{error}");
    assert_eq!(names(tmp.path()), ["grid.png", "row.png"]);
}

#[test]
fn histogram_png_is_800x500_skyblue_bars() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("labels.png");
    histogram::png(&path, &COUNTS, "Histogram of Labels in MNIST Training Set").unwrap();
    let colours = decode(&path, (800, 500), 8);
    assert!(colours.contains(&[0x87, 0xce, 0xeb]), "no skyblue bar");
    assert!(colours.contains(&[0, 0, 0]), "no black edges or text");
}

#[test]
fn histogram_text_has_a_row_per_class_with_proportional_bars() {
    let text = histogram::text(&COUNTS);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 11, "header and 10 rows:\n{text}");
    let rows = &lines[1..];
    assert_eq!(rows.len(), 10);
    for (class, line) in rows.iter().enumerate() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields[0], class.to_string(), "{line}");
        assert_eq!(fields[1], COUNTS[class].to_string(), "{line}");
        let bar = line.chars().filter(|&c| c == '█').count();
        let expected = (COUNTS[class] as f64 * 40.0 / 563.0).round() as usize;
        assert_eq!(bar, expected, "{line}");
    }
}

#[test]
fn compare_png_is_a_grouped_bar_chart() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("compare.png");
    compare::png(&path, &lecture_models()).unwrap();
    let colours = decode(&path, (800, 500), 10);
    assert!(colours.contains(&[0x1f, 0x77, 0xb4]), "no validation bars");
    assert!(colours.contains(&[0xff, 0x7f, 0x0e]), "no test bars");
}

#[test]
fn compare_text_aligns_its_columns() {
    let text = compare::text(&lecture_models());
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    let width = lines[0].chars().count();
    assert!(
        lines.iter().all(|l| l.chars().count() == width),
        "ragged:\n{text}"
    );
    // Numeric columns are right-aligned: each ends where its header ends.
    for header in ["params", "s/epoch", "val accuracy", "test accuracy"] {
        let end = lines[0].find(header).unwrap() + header.len();
        for line in &lines[1..] {
            assert_ne!(
                line.as_bytes()[end - 1],
                b' ',
                "{header} misaligned:\n{text}"
            );
            assert!(
                end == line.len() || line.as_bytes()[end] == b' ',
                "{header}:\n{text}"
            );
        }
    }
    assert!(
        lines[1].starts_with("dense ") && lines[1].contains("101,770"),
        "{}",
        lines[1]
    );
    assert!(
        lines[1].contains(" - "),
        "missing validation shows '-': {}",
        lines[1]
    );
    assert!(
        lines[3].contains("1,199,882") && lines[3].ends_with("0.9875"),
        "{}",
        lines[3]
    );
}

#[test]
fn ensure_dir_creates_missing_directories_and_leaves_no_probe() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("a").join("b");
    ensure_dir(&dir).unwrap();
    assert!(dir.is_dir());
    assert!(
        names(&dir).is_empty(),
        "probe left behind: {:?}",
        names(&dir)
    );
    ensure_dir(&dir).unwrap();
}

#[test]
fn unwritable_report_dir_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = under_a_file(tmp.path());
    let error = ensure_dir(&dir).unwrap_err();
    assert!(matches!(error, ReportError::CreateDir { .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains(&dir.display().to_string()), "{message}");
    assert!(message.contains("--report"), "says what to do: {message}");

    let path = dir.join("confusion.png");
    let error = confusion::png(&path, &mnist_matrix(), &confusion::title("MNIST")).unwrap_err();
    assert!(matches!(error, ReportError::Write { .. }), "{error:?}");
    assert!(
        error.to_string().contains(&path.display().to_string()),
        "{error}"
    );
    assert_eq!(
        names(tmp.path()),
        ["file.txt"],
        "nothing partial left behind"
    );
}

#[test]
fn a_failed_rename_leaves_no_partial_file() {
    let tmp = tempfile::tempdir().unwrap();
    // The picture is fully drawn into a temporary file, but a directory holds its name.
    let path = tmp.path().join("labels.png");
    fs::create_dir(&path).unwrap();
    fs::write(path.join("keep"), "x").unwrap();
    let error = histogram::png(&path, &COUNTS, "labels").unwrap_err();
    assert!(matches!(error, ReportError::Write { .. }), "{error:?}");
    assert!(error.to_string().contains("labels.png"), "{error}");
    assert_eq!(
        names(tmp.path()),
        ["labels.png"],
        "temporary file left behind"
    );
    assert_eq!(names(&path), ["keep"]);
}

#[test]
fn rewriting_a_picture_replaces_it_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("labels.png");
    fs::write(&path, "an old, partial file").unwrap();
    histogram::png(&path, &COUNTS, "labels").unwrap();
    decode(&path, (800, 500), 8);
    assert_eq!(names(tmp.path()), ["labels.png"]);
}

/// Renders every picture into `$REPORT_LOOK_DIR` (default `/tmp/report-look`) to look at.
#[test]
#[ignore = "writes pictures for a person to look at"]
fn render_every_picture_for_a_look() {
    let dir = std::env::var_os("REPORT_LOOK_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("report-look"));
    ensure_dir(&dir).unwrap();
    confusion::png(
        &dir.join("confusion.png"),
        &mnist_matrix(),
        &confusion::title("MNIST"),
    )
    .unwrap();
    history::png(&dir.join("history.png"), &lecture_history(true)).unwrap();
    history::png(&dir.join("history_no_val.png"), &lecture_history(false)).unwrap();
    histogram::png(
        &dir.join("histogram.png"),
        &COUNTS,
        "Histogram of Labels in MNIST Training Set",
    )
    .unwrap();
    compare::png(&dir.join("compare.png"), &lecture_models()).unwrap();
    // Edge cases: one epoch with a diverged loss; seven models with long names.
    let mut one = lecture_history(true);
    one.truncate(1);
    one[0].loss = f64::NAN;
    history::png(&dir.join("history_one_epoch.png"), &one).unwrap();
    let many: Vec<CompareRow> = (0..7)
        .map(|i| CompareRow {
            model: format!("cnn_dropout_batchnorm_{i}"),
            params: 93_322 * (i + 1),
            seconds_per_epoch: 3.0 + i as f64,
            val_accuracy: (i % 3 != 0).then_some(0.95 + 0.006 * i as f64),
            test_accuracy: 0.94 + 0.007 * i as f64,
        })
        .collect();
    compare::png(&dir.join("compare_many.png"), &many).unwrap();
    let (digits, labels) = mnist_samples(12);
    let images: Vec<&[u8]> = digits.iter().map(Vec::as_slice).collect();
    let captions: Vec<String> = labels
        .iter()
        .enumerate()
        .map(|(i, &l)| match i % 4 {
            3 => format!("label {l} → {}", (l + 1) % 10),
            _ => l.to_string(),
        })
        .collect();
    samples::png(
        &dir.join("samples.png"),
        &images[..5],
        28,
        28,
        &captions[..5],
        5,
    )
    .unwrap();
    samples::png(&dir.join("mistakes.png"), &images, 28, 28, &captions, 6).unwrap();
    print!("{}", confusion::text(&mnist_matrix()));
    print!("{}", histogram::text(&COUNTS));
    print!("{}", compare::text(&lecture_models()));
    print!("{}", history::csv(&lecture_history(true)));
}

/// The first `n` MNIST training images and labels from assets/mnist.
fn mnist_samples(n: usize) -> (Vec<Vec<u8>>, Vec<u8>) {
    use std::io::Read;
    let gunzip = |name: &str| {
        let file = fs::File::open(Path::new("assets/mnist").join(name)).unwrap();
        let mut bytes = Vec::new();
        flate2::read::GzDecoder::new(file)
            .read_to_end(&mut bytes)
            .unwrap();
        bytes
    };
    let images = gunzip("train-images-idx3-ubyte.gz");
    let labels = gunzip("train-labels-idx1-ubyte.gz");
    let digits = images[16..]
        .chunks(784)
        .take(n)
        .map(<[u8]>::to_vec)
        .collect();
    (digits, labels[8..8 + n].to_vec())
}

#[cfg(unix)]
#[test]
fn text_reports_are_ordinary_readable_files_written_whole() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::TempDir::new().expect("temp dir");
    let path = dir.path().join("table.txt");
    gpu_cnn::report::write_text(&path, "a,b\n1,2\n").expect("write");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "a,b\n1,2\n");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(
        mode, 0o644,
        "a report should be readable like the PNGs beside it"
    );
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        names,
        vec![std::ffi::OsString::from("table.txt")],
        "no temporary file left"
    );
}
