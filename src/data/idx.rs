//! IDX files (the MNIST format), gzipped or raw.
//!
//! Layout: a big-endian `u32` magic (`0x00000803` images, `0x00000801` labels: type `0x08` =
//! unsigned byte, then the number of dimensions), one big-endian `u32` per dimension
//! (`count, rows, cols` for images, `count` for labels), then one byte per pixel / label,
//! row-major. Gzip is detected by its magic bytes `0x1f 0x8b`, not by the file name.
//!
//! The whole file is checked: magic, header length, non-zero image size, a declared size of at
//! most 4 GiB, a body of exactly the declared size and no trailing bytes (for gzip this last
//! read is also where the CRC is verified).

use std::fs::File;
use std::io::{self, BufReader, Read, Seek};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use super::DataError;

/// Magic number of an IDX file of unsigned bytes with 3 dimensions (images).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of unsigned bytes with 1 dimension (labels).
pub const LABELS_MAGIC: u32 = 0x0000_0801;
/// Largest body (declared data bytes) this reader accepts.
pub const MAX_BODY_BYTES: u64 = 4 << 30;

/// The first two bytes of every gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// Trailing bytes are counted up to this many (then reported as "at least").
const TRAILING_COUNT_LIMIT: u64 = 1 << 20;
/// Largest up-front allocation for a body; more grows as data actually arrives, so a lying
/// header cannot make us reserve gigabytes for a tiny file.
const MAX_PREALLOC: usize = 64 << 20;

/// The images of one IDX image file: `pixels` is `[count, rows, cols]`, row-major, one byte each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxImages {
    /// Number of images.
    pub count: usize,
    /// Rows per image (28 for MNIST).
    pub rows: usize,
    /// Columns per image (28 for MNIST).
    pub cols: usize,
    /// `count * rows * cols` pixel bytes, image after image, row-major.
    pub pixels: Vec<u8>,
}

/// Reads an IDX image file (magic `0x00000803`), gzipped or raw.
pub fn read_images(path: &Path) -> Result<IdxImages, DataError> {
    let ([count, rows, cols], pixels) = read_idx::<3>(path, IMAGES_MAGIC, "image")?;
    if rows == 0 || cols == 0 {
        return Err(DataError::ZeroDimension {
            path: path.to_path_buf(),
            rows,
            cols,
        });
    }
    Ok(IdxImages {
        count: count as usize,
        rows: rows as usize,
        cols: cols as usize,
        pixels,
    })
}

/// Reads an IDX label file (magic `0x00000801`), gzipped or raw: one byte per sample.
///
/// Values are not range-checked here; [`Dataset::from_idx`](super::Dataset::from_idx) does that.
pub fn read_labels(path: &Path) -> Result<Vec<u8>, DataError> {
    let (_count, labels) = read_idx::<1>(path, LABELS_MAGIC, "label")?;
    Ok(labels)
}

/// Reads a whole unsigned-byte IDX file with `N` dimensions: returns the dimensions and the body.
fn read_idx<const N: usize>(
    path: &Path,
    magic: u32,
    kind: &'static str,
) -> Result<([u32; N], Vec<u8>), DataError> {
    let mut src = Source::open(path)?;

    // Header: [magic u32][dim u32; N], big-endian.
    let mut header = vec![0u8; 4 + 4 * N];
    let got = src.read_up_to(&mut header)?;
    if let Some(found) = header.get(..got).and_then(be_u32) {
        if found != magic {
            return Err(DataError::WrongMagic {
                path: path.to_path_buf(),
                found,
                expected: magic,
                kind,
            });
        }
    }
    if got < header.len() {
        return Err(DataError::HeaderTooShort {
            path: path.to_path_buf(),
            expected: header.len(),
            actual: got,
        });
    }
    let mut dims = [0u32; N];
    for (dim, chunk) in dims.iter_mut().zip(header.chunks_exact(4).skip(1)) {
        *dim = be_u32(chunk).unwrap_or(0);
    }
    let dims_text = dims.map(|d| d.to_string()).join("x");

    // Body: exactly the product of the dimensions, at most MAX_BODY_BYTES.
    let declared = dims
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(u64::from(d)));
    let expected = match declared.filter(|&b| b <= MAX_BODY_BYTES) {
        Some(b) => usize::try_from(b).ok(),
        None => None,
    };
    let Some(expected) = expected else {
        return Err(DataError::TooLarge {
            path: path.to_path_buf(),
            dims: dims_text,
            bytes: declared.unwrap_or(u64::MAX),
        });
    };
    let mut body = Vec::with_capacity(expected.min(MAX_PREALLOC));
    src.read_to_end_limited(&mut body, expected as u64)?;
    if body.len() < expected {
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            dims: dims_text,
            expected,
            actual: body.len(),
        });
    }

    // Nothing may follow the body (for gzip, reading to the end also checks the CRC).
    let extra = src.count_remaining(TRAILING_COUNT_LIMIT)?;
    if extra > 0 {
        return Err(DataError::TrailingBytes {
            path: path.to_path_buf(),
            dims: dims_text,
            expected,
            extra,
            at_least: extra >= TRAILING_COUNT_LIMIT,
        });
    }
    Ok((dims, body))
}

/// The first four bytes of `bytes` as a big-endian `u32`, if there are four.
fn be_u32(bytes: &[u8]) -> Option<u32> {
    bytes.first_chunk::<4>().map(|b| u32::from_be_bytes(*b))
}

/// An open IDX file: raw bytes or a gzip decoder, with its path for error messages.
struct Source {
    path: PathBuf,
    reader: Box<dyn Read>,
    gzip: bool,
}

impl Source {
    /// Opens `path` and picks raw or gzip by the first two bytes.
    fn open(path: &Path) -> Result<Self, DataError> {
        let io_err = |source: io::Error| DataError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = File::open(path).map_err(|source| {
            if source.kind() == io::ErrorKind::NotFound {
                DataError::FileNotFound {
                    path: path.to_path_buf(),
                }
            } else {
                io_err(source)
            }
        })?;
        let mut start = [0u8; 2];
        let got = read_up_to(&mut file, &mut start).map_err(io_err)?;
        file.rewind().map_err(io_err)?;
        let gzip = got == start.len() && start == GZIP_MAGIC;
        let file = BufReader::new(file);
        let reader: Box<dyn Read> = if gzip {
            Box::new(MultiGzDecoder::new(file))
        } else {
            Box::new(file)
        };
        Ok(Source {
            path: path.to_path_buf(),
            reader,
            gzip,
        })
    }

    /// Turns a read error into [`DataError::CorruptGzip`] (gzip) or [`DataError::Io`] (raw).
    fn error(&self, source: io::Error) -> DataError {
        let path = self.path.clone();
        if self.gzip {
            DataError::CorruptGzip { path, source }
        } else {
            DataError::Io { path, source }
        }
    }

    /// Fills as much of `buf` as the file holds; returns the number of bytes read.
    fn read_up_to(&mut self, buf: &mut [u8]) -> Result<usize, DataError> {
        read_up_to(&mut self.reader, buf).map_err(|e| self.error(e))
    }

    /// Appends at most `limit` bytes to `out`.
    fn read_to_end_limited(&mut self, out: &mut Vec<u8>, limit: u64) -> Result<(), DataError> {
        match (&mut self.reader).take(limit).read_to_end(out) {
            Ok(_) => Ok(()),
            Err(e) => Err(self.error(e)),
        }
    }

    /// Reads and discards what is left, up to `limit` bytes; returns how many there were.
    fn count_remaining(&mut self, limit: u64) -> Result<u64, DataError> {
        io::copy(&mut (&mut self.reader).take(limit), &mut io::sink()).map_err(|e| self.error(e))
    }
}

/// Reads until `buf` is full or the reader ends; returns the number of bytes read.
fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while let Some(rest) = buf.get_mut(filled..).filter(|r| !r.is_empty()) {
        match reader.read(rest) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}
