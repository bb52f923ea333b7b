//! The library's values as the plain JavaScript objects the page reads.

use gpu_cnn::evaluate::EvalStats;
use gpu_cnn::gpu::GpuContext;
use gpu_cnn::selftest::Row;
use gpu_cnn::train::{EpochStats, Progress};
use serde_json::{json, Value};
use wasm_bindgen::JsValue;

/// `value` as a JavaScript object (through `JSON.parse`, so numbers, arrays and maps arrive as
/// JavaScript's own).
pub fn to_js(value: &Value) -> Result<JsValue, JsValue> {
    js_sys::JSON::parse(&value.to_string())
}

/// A JavaScript value (a settings object) as JSON.
pub fn from_js(value: &JsValue) -> Result<Value, JsValue> {
    let text: String = js_sys::JSON::stringify(value)?.into();
    serde_json::from_str(&text).map_err(|error| JsValue::from_str(&error.to_string()))
}

/// The adapter's name, backend, type and the limits that bound a model.
pub fn adapter(ctx: &GpuContext) -> Value {
    let (info, limits) = (&ctx.info, &ctx.limits);
    json!({
        "name": info.name,
        "backend": info.backend.to_str(),
        "device_type": format!("{:?}", info.device_type),
        "driver": format!("{} {}", info.driver, info.driver_info).trim(),
        "limits": {
            "max_buffer_size": limits.max_buffer_size,
            "max_storage_buffer_binding_size": limits.max_storage_buffer_binding_size,
            "max_storage_buffers_per_shader_stage": limits.max_storage_buffers_per_shader_stage,
            "max_compute_invocations_per_workgroup": limits.max_compute_invocations_per_workgroup,
            "max_compute_workgroup_storage_size": limits.max_compute_workgroup_storage_size,
            "max_compute_workgroups_per_dimension": limits.max_compute_workgroups_per_dimension,
        },
    })
}

/// One progress report of the fit loop.
pub fn progress(report: &Progress) -> Value {
    match report {
        Progress::EpochStart { epoch, steps } => {
            json!({ "kind": "epoch_start", "epoch": epoch, "steps": steps })
        }
        Progress::Steps {
            epoch,
            done,
            total,
            loss,
            accuracy,
        } => json!({
            "kind": "steps", "epoch": epoch, "done": done, "total": total,
            "loss": loss, "accuracy": accuracy,
        }),
        Progress::Epoch(stats) => {
            let mut value = epoch(stats);
            value["kind"] = json!("epoch");
            value
        }
    }
}

/// One finished epoch, as Keras's history has it.
pub fn epoch(stats: &EpochStats) -> Value {
    let validation = stats.validation.as_ref();
    json!({
        "epoch": stats.epoch,
        "loss": stats.loss,
        "accuracy": stats.accuracy,
        "val_loss": validation.map(|v| v.loss),
        "val_accuracy": validation.map(|v| v.accuracy),
        "seconds": stats.seconds,
    })
}

/// Loss, accuracy and sample count.
pub fn stats(stats: &EvalStats) -> Value {
    json!({ "loss": stats.loss, "accuracy": stats.accuracy, "samples": stats.samples })
}

/// One selftest check.
pub fn selftest_row(row: &Row) -> Value {
    json!({
        "check": row.case,
        "kernel": row.kernel_labels(),
        "passed": row.passed(),
        "max_abs": row.errors.worst_abs,
        "max_rel": row.errors.worst_rel,
        "tolerance": format!("{:e} + {:e}·|ref|", row.tolerance.atol, row.tolerance.rtol),
        "failure": row.failure,
        "ms": row.seconds * 1e3,
    })
}
