//! IDX files (the MNIST format), gzipped or raw.
//!
//! Layout: a big-endian `u32` magic (`0x00000803` images, `0x00000801` labels: type `0x08` =
//! unsigned byte, then the number of dimensions), one big-endian `u32` per dimension
//! (`count, rows, cols` for images, `count` for labels), then one byte per pixel / label,
//! row-major. Gzip is detected by its magic bytes `0x1f 0x8b`, not by the file name.
//!
//! The whole file is checked: magic, header length, non-zero image size, a declared size of at
//! most [`MAX_BODY_BYTES`] (1 GiB), a body of exactly the declared size and no trailing bytes (for gzip this last
//! read is also where the CRC is verified).

use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use super::DataError;
use crate::input_file::{self, FileKind};

/// Magic number of an IDX file of unsigned bytes with 3 dimensions (images).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of unsigned bytes with 1 dimension (labels).
pub const LABELS_MAGIC: u32 = 0x0000_0801;
/// Largest body (declared data bytes) this reader accepts: 1 GiB, twice EMNIST's largest
/// image file (698k images of 28×28); a header declaring more is refused before any data is
/// read, so a small gzip file cannot inflate into gigabytes.
pub const MAX_BODY_BYTES: u64 = 1 << 30;

/// The first two bytes of every gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// Trailing bytes are counted up to this many (then reported as "at least").
const TRAILING_COUNT_LIMIT: u64 = 1 << 20;

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

/// Reads an IDX image file (magic `0x00000803`), gzipped or raw: a regular file of at most
/// [`FileKind::Idx`]'s cap.
pub fn read_images(path: &Path) -> Result<IdxImages, DataError> {
    images_from(Source::open(path)?)
}

/// [`read_images`] on the bytes of an IDX image file; `origin` names the file in errors.
pub fn images_from_bytes(bytes: &[u8], origin: &Path) -> Result<IdxImages, DataError> {
    images_from(Source::new(bytes, origin)?)
}

/// The images of an IDX image file.
fn images_from(src: Source) -> Result<IdxImages, DataError> {
    let path = src.path.clone();
    let ([count, rows, cols], pixels) = read_idx::<3>(src, IMAGES_MAGIC, "image")?;
    if rows == 0 || cols == 0 {
        return Err(DataError::ZeroDimension { path, rows, cols });
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
    let (_count, labels) = read_idx::<1>(Source::open(path)?, LABELS_MAGIC, "label")?;
    Ok(labels)
}

/// [`read_labels`] on the bytes of an IDX label file; `origin` names the file in errors.
pub fn labels_from_bytes(bytes: &[u8], origin: &Path) -> Result<Vec<u8>, DataError> {
    let (_count, labels) = read_idx::<1>(Source::new(bytes, origin)?, LABELS_MAGIC, "label")?;
    Ok(labels)
}

/// Reads a whole unsigned-byte IDX file with `N` dimensions: returns the dimensions and the body.
fn read_idx<const N: usize>(
    mut src: Source,
    magic: u32,
    kind: &'static str,
) -> Result<([u32; N], Vec<u8>), DataError> {
    let path = src.path.clone();
    let path = path.as_path();

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
    // Nothing reserved up front: the body grows as data actually arrives, so a lying header
    // cannot make a tiny file take memory.
    let mut body = Vec::new();
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
struct Source<'a> {
    path: PathBuf,
    reader: Box<dyn Read + 'a>,
    gzip: bool,
}

impl<'a> Source<'a> {
    /// Opens `path` (a regular file, at most [`FileKind::Idx`]'s cap).
    fn open(path: &Path) -> Result<Self, DataError> {
        Source::new(input_file::open(path, FileKind::Idx)?, path)
    }

    /// Reads the file `origin` from `file`, raw or gzip as its first two bytes say.
    fn new(mut file: impl Read + 'a, origin: &Path) -> Result<Self, DataError> {
        let mut start = [0u8; 2];
        let got = read_up_to(&mut file, &mut start).map_err(|source| DataError::Io {
            path: origin.to_path_buf(),
            source,
        })?;
        let gzip = got == start.len() && start == GZIP_MAGIC;
        // The bytes already read, then the rest of the file.
        let file = BufReader::new(io::Cursor::new(start).take(got as u64).chain(file));
        let reader: Box<dyn Read + 'a> = if gzip {
            Box::new(MultiGzDecoder::new(file))
        } else {
            Box::new(file)
        };
        Ok(Source {
            path: origin.to_path_buf(),
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
