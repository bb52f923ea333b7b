//! A trained network back on a device from its checkpoint: the one place that joins
//! [`crate::checkpoint`] (files) and [`crate::evaluate`] (forward passes), so neither imports
//! the other.

use crate::checkpoint::RawCheckpoint;
use crate::evaluate::Inference;
use crate::gpu::GpuContext;
use crate::model::Network;
use crate::Result;

/// The network saved in `saved`, uploaded to `ctx`, ready to evaluate or predict.
pub fn inference(ctx: &GpuContext, saved: RawCheckpoint) -> Result<Inference<'_>> {
    let seed = saved.config.seed;
    let network = Network::new(ctx, saved.spec.clone(), seed)?;
    let state = saved.into_checkpoint(&network.layouts())?.state;
    network.load(ctx, &state.params, &state.state);
    Ok(Inference::new(ctx, network))
}
