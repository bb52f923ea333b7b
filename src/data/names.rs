//! What a data set and its classes are called, for titles, reports and predictions.
//!
//! - A data directory may hold `classes.txt`: one class name per line, in label order (label 0
//!   first); blank lines at the end are ignored.
//! - Otherwise a known data set is recognised by its label files' checksums, as published (the
//!   `.gz` files) or decompressed: MNIST (whose classes are its digits) and Fashion-MNIST (whose
//!   ten names are Zalando's).
//! - Any other directory is titled by its own name, and its classes by their labels.

use std::path::{Path, PathBuf};

use md5::{Digest, Md5};

use super::DataError;
use crate::input_file::{self, FileKind};

/// The file of class names a data directory may hold.
pub const CLASSES_FILE: &str = "classes.txt";

/// The most class names `classes.txt` may hold (the most labels an IDX byte can take).
pub const MAX_CLASS_NAMES: usize = 256;

/// The longest class name, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// A data set's title and, where known, its class names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataNames {
    /// The data set's name for titles: `MNIST`, `Fashion-MNIST` or the directory's name.
    pub title: String,
    /// The name of each label, label 0 first; `None` where labels are their own names (MNIST's
    /// digits, or a directory without `classes.txt`).
    pub classes: Option<Vec<String>>,
}

impl DataNames {
    /// The name of `label`: its class name, or the label itself.
    pub fn class(&self, label: usize) -> String {
        self.classes
            .as_ref()
            .and_then(|names| names.get(label).cloned())
            .unwrap_or_else(|| label.to_string())
    }

    /// `label` for text where the number matters too: `9 (Ankle boot)`, or `9`.
    pub fn labelled(&self, label: usize) -> String {
        match self.classes.as_ref().and_then(|names| names.get(label)) {
            Some(name) => format!("{label} ({name})"),
            None => label.to_string(),
        }
    }

    /// The key of the first `classes` classes, where the data set names them:
    /// `0 (T-shirt/top), 1 (Trouser), ...`.
    pub fn key(&self, classes: usize) -> Option<String> {
        self.classes.as_ref()?;
        let key: Vec<String> = (0..classes).map(|class| self.labelled(class)).collect();
        Some(key.join(", "))
    }

    /// Checks that the class names, if any, name exactly `classes` classes (the model's).
    pub fn check_count(&self, classes: usize, dir: &Path) -> Result<(), DataError> {
        match &self.classes {
            Some(names) if names.len() != classes => Err(DataError::ClassNames {
                path: dir.join(CLASSES_FILE),
                line: None,
                problem: format!(
                    "it names {} classes but the model has {classes}; give one name per class, \
                     label 0 first",
                    names.len()
                ),
            }),
            _ => Ok(()),
        }
    }
}

/// A data set recognised by its label files.
struct KnownSet {
    title: &'static str,
    classes: Option<&'static [&'static str]>,
    /// MD5 digests of `train-labels-idx1-ubyte` then `t10k-labels-idx1-ubyte`: each the
    /// published `.gz` file's, then the decompressed file's where known.
    labels: [&'static [&'static str]; 2],
}

impl KnownSet {
    /// Its class names, owned, where its labels are not their own names.
    fn class_names(&self) -> Option<Vec<String>> {
        self.classes
            .map(|names| names.iter().map(ToString::to_string).collect())
    }
}

/// The data sets gpu-cnn knows by their checksums.
const KNOWN: [KnownSet; 2] = [
    KnownSet {
        title: "MNIST",
        classes: None,
        labels: [
            &[
                "d53e105ee54ea40749a09fcbcd1e9432",
                "a25bea736e30d166cdddb491f175f624",
            ],
            &[
                "ec29112dd5afa0611ce80d1b7f02629c",
                "27ae3e4e09519cfbb04c329615203637",
            ],
        ],
    },
    KnownSet {
        title: "Fashion-MNIST",
        classes: Some(&[
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ]),
        labels: [
            &["25c81989df183df01b3e8a0aad5dffbe"],
            &["bb300cfdad3c16e7a12a480ee83cd310"],
        ],
    },
];

/// The label files a known set is recognised by.
const LABEL_FILES: [&str; 2] = ["train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte"];

/// The names of the data set in `dir`: its `classes.txt`, a known set's, or the directory's.
pub fn describe(dir: &Path) -> Result<DataNames, DataError> {
    let known = recognise(dir)?;
    let classes_file = dir.join(CLASSES_FILE);
    let classes = match classes_file.exists() {
        true => Some(read_classes(&classes_file)?),
        false => known.and_then(KnownSet::class_names),
    };
    let title = match known {
        Some(set) => set.title.to_string(),
        None => directory_name(dir),
    };
    Ok(DataNames { title, classes })
}

/// The names of a set whose label files (train, test; published `.gz` or decompressed) hold
/// `train_labels` and `test_labels`: a known set's, else `title` with labels as their own
/// names. A page that fetched the files has no directory to read `classes.txt` from.
pub fn of_label_files(train_labels: &[u8], test_labels: &[u8], title: &str) -> DataNames {
    match known_by(&[digests(train_labels), digests(test_labels)]) {
        Some(set) => DataNames {
            title: set.title.to_string(),
            classes: set.class_names(),
        },
        None => DataNames {
            title: title.to_string(),
            classes: None,
        },
    }
}

/// The last component of `dir` (made absolute first, so `.` has a name too).
fn directory_name(dir: &Path) -> String {
    let absolute = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    absolute
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| absolute.display().to_string())
}

/// The known set whose label files are those of `dir`, if any.
fn recognise(dir: &Path) -> Result<Option<&'static KnownSet>, DataError> {
    let mut digests = Vec::with_capacity(LABEL_FILES.len());
    for name in LABEL_FILES {
        let Some(path) = label_file(dir, name) else {
            return Ok(None);
        };
        digests.push(self::digests(&input_file::read(&path, FileKind::Idx)?));
    }
    Ok(known_by(&digests))
}

/// The known set whose label files have these digests (train, test), if any.
fn known_by(digests: &[Vec<String>]) -> Option<&'static KnownSet> {
    KNOWN.iter().find(|set| {
        set.labels
            .iter()
            .zip(digests)
            .all(|(known, found)| found.iter().any(|digest| known.contains(&digest.as_str())))
    })
}

/// `dir/name.gz` or `dir/name`, as the loader takes them.
fn label_file(dir: &Path, name: &str) -> Option<PathBuf> {
    [dir.join(format!("{name}.gz")), dir.join(name)]
        .into_iter()
        .find(|path| path.is_file())
}

/// The MD5 digest of a file's bytes and, for a gzip file, of its decompressed bytes.
fn digests(bytes: &[u8]) -> Vec<String> {
    let mut digests = vec![hex_md5(bytes)];
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut decompressed = Vec::new();
        let decoded =
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(bytes), &mut decompressed);
        // A file that does not decompress is not a known set's; the loader says what is wrong.
        if decoded.is_ok() {
            digests.push(hex_md5(&decompressed));
        }
    }
    digests
}

fn hex_md5(bytes: &[u8]) -> String {
    Md5::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Reads `classes.txt`: one non-empty name per line, label 0 first.
fn read_classes(path: &Path) -> Result<Vec<String>, DataError> {
    let bytes = input_file::read(path, FileKind::ClassNames)?;
    let error = |line: Option<usize>, problem: String| DataError::ClassNames {
        path: path.to_path_buf(),
        line,
        problem,
    };
    let text = String::from_utf8(bytes)
        .map_err(|_| error(None, "it is not UTF-8 text: save it as UTF-8".into()))?;
    let mut names: Vec<String> = text.lines().map(|line| line.trim().to_string()).collect();
    while names.last().is_some_and(String::is_empty) {
        names.pop();
    }
    if names.is_empty() {
        return Err(error(
            None,
            "it names no class: write one name per line, label 0 first".into(),
        ));
    }
    if names.len() > MAX_CLASS_NAMES {
        return Err(error(
            None,
            format!(
                "it has {} lines, more than the {MAX_CLASS_NAMES} labels an IDX file can hold",
                names.len()
            ),
        ));
    }
    for (i, name) in names.iter().enumerate() {
        if name.is_empty() {
            return Err(error(
                Some(i + 1),
                format!("the name of label {i} is empty: write a name on every line"),
            ));
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(error(
                Some(i + 1),
                format!("the name of label {i} is longer than {MAX_NAME_CHARS} characters"),
            ));
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn the_bundled_mnist_is_recognised_and_its_classes_are_its_digits() {
        let names = describe(&crate::data::bundled_mnist_dir()).unwrap();
        assert_eq!(names.title, "MNIST");
        assert_eq!(names.classes, None);
        assert_eq!(names.class(7), "7");
        assert_eq!(names.labelled(7), "7");
        assert_eq!(names.key(10), None);
    }

    #[test]
    fn label_files_fetched_by_a_page_are_recognised_by_their_bytes() {
        let bytes = |name: &str| {
            fs::read(crate::data::bundled_mnist_dir().join(format!("{name}.gz"))).unwrap()
        };
        let (train, test) = (bytes(LABEL_FILES[0]), bytes(LABEL_FILES[1]));
        let mnist = of_label_files(&train, &test, "fetched");
        assert_eq!((mnist.title.as_str(), mnist.classes), ("MNIST", None));
        // Train and test swapped are no known set's: the title given, labels as names.
        let unknown = of_label_files(&test, &train, "fetched");
        assert_eq!((unknown.title.as_str(), unknown.classes), ("fetched", None));
    }

    #[test]
    fn decompressed_mnist_is_recognised_too_and_classes_txt_names_it() {
        let dir = tempfile::TempDir::new().unwrap();
        for name in LABEL_FILES {
            let gz = crate::data::bundled_mnist_dir().join(format!("{name}.gz"));
            let mut raw = Vec::new();
            std::io::Read::read_to_end(
                &mut flate2::read::GzDecoder::new(fs::File::open(gz).unwrap()),
                &mut raw,
            )
            .unwrap();
            fs::write(dir.path().join(name), raw).unwrap();
        }
        assert_eq!(describe(dir.path()).unwrap().title, "MNIST");
        let digits = "zero\none\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\n\n";
        fs::write(dir.path().join(CLASSES_FILE), digits).unwrap();
        let names = describe(dir.path()).unwrap();
        assert_eq!(names.title, "MNIST");
        assert_eq!(names.class(9), "nine");
        assert_eq!(names.labelled(0), "0 (zero)");
        assert_eq!(names.key(2).as_deref(), Some("0 (zero), 1 (one)"));
        assert!(names.check_count(10, dir.path()).is_ok());
        let wrong = names.check_count(11, dir.path()).unwrap_err().to_string();
        assert!(
            wrong.contains("names 10 classes but the model has 11"),
            "{wrong}"
        );
    }

    #[test]
    fn an_unknown_directory_is_titled_by_its_name() {
        let root = tempfile::TempDir::new().unwrap();
        let dir = root.path().join("my-letters");
        fs::create_dir(&dir).unwrap();
        fs::write(
            dir.join("train-labels-idx1-ubyte"),
            [0, 0, 8, 1, 0, 0, 0, 0],
        )
        .unwrap();
        fs::write(dir.join("t10k-labels-idx1-ubyte"), [0, 0, 8, 1, 0, 0, 0, 0]).unwrap();
        let names = describe(&dir).unwrap();
        assert_eq!(names.title, "my-letters");
        assert_eq!(names.classes, None);
    }

    #[test]
    fn a_bad_classes_file_names_its_line_and_the_fix() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join(CLASSES_FILE);
        for (text, needle) in [
            ("cat\n\ndog\n", "line 2: the name of label 1 is empty"),
            ("\n\n", "names no class"),
            (
                &"x\n".repeat(MAX_CLASS_NAMES + 1),
                "more than the 256 labels",
            ),
            (
                &format!("{}\n", "y".repeat(MAX_NAME_CHARS + 1)),
                "line 1: the name of label 0",
            ),
        ] {
            fs::write(&path, text).unwrap();
            let message = describe(dir.path()).unwrap_err().to_string();
            assert!(message.contains(needle), "{message}");
            assert!(message.contains("classes.txt"), "{message}");
        }
        fs::write(&path, [0xff, 0xfe, b'\n']).unwrap();
        let message = describe(dir.path()).unwrap_err().to_string();
        assert!(message.contains("not UTF-8"), "{message}");
    }
}
