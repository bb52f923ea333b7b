//! wgpu's pipeline cache, kept on disk between runs where the adapter supports it (Vulkan with
//! `PIPELINE_CACHE`): the driver's compiled pipelines come back on the next start instead of
//! being compiled again, so a fresh process reaches full speed sooner.
//!
//! The file lives in the user's cache directory (`~/.cache/gpu-cnn/` on Linux; the
//! `GPU_CNN_CACHE_DIR` variable moves it, and an empty value turns the cache off), one per
//! adapter (wgpu's cache key). It is written atomically when the context closes, framed by a
//! header with the data's length and hash: a truncated or altered file is ignored, never handed
//! to the driver.

use std::fs;
use std::io::Read;
use std::path::PathBuf;

use crate::atomic;

/// The first bytes of a cache file of this format.
const MAGIC: &[u8] = b"gpu-cnn pipeline cache 1\n";
/// The largest cache file read (a driver's cache for gpu-cnn's kernels is far smaller).
const MAX_BYTES: u64 = 256 << 20;

/// A pipeline cache and the file it is saved to.
pub struct DiskCache {
    cache: wgpu::PipelineCache,
    path: PathBuf,
}

/// FNV-1a, 64 bit: a check that the data is the data that was written.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The cache directory: `GPU_CNN_CACHE_DIR` if set (empty: none), else the user's.
fn directory() -> Option<PathBuf> {
    match std::env::var_os("GPU_CNN_CACHE_DIR") {
        Some(dir) if dir.is_empty() => None,
        Some(dir) => Some(PathBuf::from(dir)),
        #[cfg(not(target_arch = "wasm32"))]
        None => dirs::cache_dir().map(|dir| dir.join("gpu-cnn")),
        // A browser keeps its own pipeline caches.
        #[cfg(target_arch = "wasm32")]
        None => None,
    }
}

/// The data of the cache file at `path`, when it is a whole, unaltered file of this format.
fn read_framed(path: &PathBuf) -> Option<Vec<u8>> {
    let file = fs::File::open(path).ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut bytes = Vec::new();
    file.take(MAX_BYTES).read_to_end(&mut bytes).ok()?;
    let rest = bytes.strip_prefix(MAGIC)?;
    let (len, rest) = rest.split_first_chunk::<8>()?;
    let (hash, data) = rest.split_first_chunk::<8>()?;
    let whole = u64::from_le_bytes(*len) == data.len() as u64;
    (whole && u64::from_le_bytes(*hash) == fnv(data)).then(|| data.to_vec())
}

impl DiskCache {
    /// The cache of `info`'s adapter on `device`, with what an earlier run saved; `None` where
    /// the device lacks `PIPELINE_CACHE`, wgpu has no cache key for the backend, or the cache
    /// is turned off.
    pub fn open(device: &wgpu::Device, info: &wgpu::AdapterInfo) -> Option<Self> {
        if !device.features().contains(wgpu::Features::PIPELINE_CACHE) {
            return None;
        }
        let path = directory()?.join(wgpu::util::pipeline_cache_key(info)?);
        let data = read_framed(&path);
        log::info!(
            "pipeline cache {} ({} bytes loaded)",
            path.display(),
            data.as_ref().map_or(0, Vec::len)
        );
        // SAFETY: `data` is only ever what `PipelineCache::get_data` returned in an earlier run
        // (the frame's length and hash prove the file is whole and unaltered), and `fallback`
        // makes wgpu start empty when the driver rejects it (another driver version).
        let cache = unsafe {
            device.create_pipeline_cache(&wgpu::PipelineCacheDescriptor {
                label: Some("gpu-cnn.pipeline_cache"),
                data: data.as_deref(),
                fallback: true,
            })
        };
        Some(Self { cache, path })
    }

    /// The cache, for pipeline descriptors.
    pub fn cache(&self) -> &wgpu::PipelineCache {
        &self.cache
    }

    /// Writes the cache's current data to its file (best effort: a cache that cannot be saved
    /// only costs the next run its compile time).
    pub fn save(&self) {
        let Some(data) = self.cache.get_data() else {
            return;
        };
        let mut framed = MAGIC.to_vec();
        framed.extend_from_slice(&(data.len() as u64).to_le_bytes());
        framed.extend_from_slice(&fnv(&data).to_le_bytes());
        framed.extend_from_slice(&data);
        let dir = atomic::parent_dir(&self.path);
        let result = fs::create_dir_all(dir).and_then(|()| atomic::write(&self.path, &framed));
        if let Err(error) = result {
            log::warn!(
                "could not save the pipeline cache {}: {error}",
                self.path.display()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_whole_unaltered_frame_is_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache");
        let data = b"driver bytes".to_vec();
        let mut framed = MAGIC.to_vec();
        framed.extend_from_slice(&(data.len() as u64).to_le_bytes());
        framed.extend_from_slice(&fnv(&data).to_le_bytes());
        framed.extend_from_slice(&data);
        fs::write(&path, &framed).unwrap();
        assert_eq!(read_framed(&path), Some(data));
        fs::write(&path, &framed[..framed.len() - 1]).unwrap();
        assert_eq!(read_framed(&path), None, "truncated");
        let mut altered = framed.clone();
        let last = altered.len() - 1;
        altered[last] ^= 1;
        fs::write(&path, &altered).unwrap();
        assert_eq!(read_framed(&path), None, "altered");
        fs::write(&path, b"not a cache").unwrap();
        assert_eq!(read_framed(&path), None, "foreign");
    }
}
