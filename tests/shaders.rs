//! The WGSL kernels against their Rust contract, with naga and no GPU:
//!
//! - every kernel parses and validates, and has its compute entry point;
//! - its bindings are the contract of `gpu/kernels.rs`: group 0 binding 0 the uniform `Params`,
//!   bindings 1..=n storage with [`Kernel::storage`]'s access, group 1 binding 0 the uniform
//!   `StepParams` exactly when [`Kernel::uses_step_table`];
//! - every `.wgsl` file under `shaders/` is the file of the kernel its path names
//!   (`shaders/op/pass.wgsl` ↔ `op.pass`) or a [`Library`] some kernel starts with, so no file
//!   is orphaned, and each library validates on its own;
//! - every uniform or storage struct mirrored in Rust has the same member names, scalar types,
//!   byte offsets and size on both sides (STYLE.md convention 4);
//! - no expression mixes a bitwise operator with a comparison without parentheses, which the
//!   WGSL spec forbids: naga accepts it, browsers' compilers (Tint) reject the whole module.

use std::collections::BTreeMap;
use std::mem::{offset_of, size_of};
use std::path::{Path, PathBuf};

use gpu_cnn::gpu::kernels::{Access, Library};
use gpu_cnn::gpu::Kernel;
use naga::valid::{Capabilities, ValidationFlags, Validator};
use naga::{AddressSpace, Module, ScalarKind, ShaderStage, StorageAccess, TypeInner};

/// The kernel's WGSL (its libraries, then its file) as a naga module, or a panic with naga's
/// diagnostic.
fn parse(kernel: Kernel) -> Module {
    let source = kernel.source();
    naga::front::wgsl::parse_str(&source).unwrap_or_else(|e| {
        panic!(
            "{}: WGSL does not parse:\n{}",
            kernel.label(),
            e.emit_to_string(&source)
        )
    })
}

/// The name of a global variable's type (`"?"` when anonymous).
fn type_name(module: &Module, ty: naga::Handle<naga::Type>) -> &str {
    module.types[ty].name.as_deref().unwrap_or("?")
}

#[test]
fn every_kernel_validates_and_has_its_compute_entry_point() {
    for kernel in Kernel::ALL {
        let module = parse(kernel);
        Validator::new(ValidationFlags::all(), Capabilities::all())
            .validate(&module)
            .unwrap_or_else(|e| {
                panic!(
                    "{}: WGSL does not validate:\n{}",
                    kernel.label(),
                    e.emit_to_string(&kernel.source())
                )
            });
        let entry = module
            .entry_points
            .iter()
            .find(|ep| ep.name == kernel.entry_point())
            .unwrap_or_else(|| {
                panic!(
                    "{}: no entry point `{}` (has {:?})",
                    kernel.label(),
                    kernel.entry_point(),
                    module
                        .entry_points
                        .iter()
                        .map(|ep| &ep.name)
                        .collect::<Vec<_>>()
                )
            });
        assert_eq!(
            entry.stage,
            ShaderStage::Compute,
            "{}: `{}` is not a compute entry point",
            kernel.label(),
            entry.name
        );
        assert_eq!(
            kernel.entry_point(),
            kernel.label().replace('.', "_"),
            "entry point must be the label with '_' (STYLE.md convention 2)"
        );
    }
}

/// One resource binding as the contract describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Binding {
    /// A uniform of the named struct type.
    Uniform(String),
    /// A storage buffer.
    Storage(Access),
}

#[test]
fn every_kernel_binds_params_storage_and_step_table_as_the_rust_contract_says() {
    for kernel in Kernel::ALL {
        let module = parse(kernel);
        let mut found: BTreeMap<(u32, u32), Binding> = BTreeMap::new();
        for (_, global) in module.global_variables.iter() {
            let Some(rb) = &global.binding else {
                continue;
            };
            let name = global.name.as_deref().unwrap_or("?");
            let binding = match global.space {
                AddressSpace::Uniform => Binding::Uniform(type_name(&module, global.ty).into()),
                AddressSpace::Storage { access } if access == StorageAccess::LOAD => {
                    Binding::Storage(Access::Read)
                }
                AddressSpace::Storage { access }
                    if access == StorageAccess::LOAD | StorageAccess::STORE =>
                {
                    Binding::Storage(Access::ReadWrite)
                }
                other => panic!(
                    "{}: `{name}` at group {} binding {} is {other:?}, neither a uniform nor a \
                     read / read_write storage buffer",
                    kernel.label(),
                    rb.group,
                    rb.binding
                ),
            };
            let previous = found.insert((rb.group, rb.binding), binding);
            assert!(
                previous.is_none(),
                "{}: two globals at group {} binding {}",
                kernel.label(),
                rb.group,
                rb.binding
            );
        }

        let mut expected = BTreeMap::new();
        expected.insert((0, 0), Binding::Uniform("Params".into()));
        for (i, &access) in kernel.storage().iter().enumerate() {
            expected.insert((0, i as u32 + 1), Binding::Storage(access));
        }
        if kernel.uses_step_table() {
            expected.insert((1, 0), Binding::Uniform("StepParams".into()));
        }
        assert_eq!(
            found,
            expected,
            "{}: WGSL bindings ((group, binding) → kind) differ from Kernel::storage / \
             uses_step_table",
            kernel.label()
        );
    }
}

/// Every `.wgsl` file below `dir`.
fn wgsl_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            files.extend(wgsl_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "wgsl") {
            files.push(path);
        }
    }
    files
}

#[test]
fn every_wgsl_file_is_the_file_of_the_kernel_its_path_names_or_a_used_library() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let files = wgsl_files(&root);
    assert!(!files.is_empty(), "no .wgsl under {}", root.display());
    for file in &files {
        let source =
            std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let relative = file.strip_prefix(&root).expect("below shaders/");
        if let Some(library) = Library::ALL.into_iter().find(|l| l.source() == source) {
            assert_eq!(
                relative,
                Path::new(library.path()),
                "{library:?} lies elsewhere"
            );
            assert!(
                Kernel::ALL.iter().any(|k| k.libraries().contains(&library)),
                "shaders/{} is a library no kernel uses",
                relative.display()
            );
            continue;
        }
        let kernel = Kernel::ALL
            .into_iter()
            .find(|k| k.file() == source)
            .unwrap_or_else(|| {
                panic!(
                    "shaders/{} is the file of no Kernel and no Library (orphan, or stale next \
                     to the compiled-in copy)",
                    relative.display()
                )
            });
        let named = relative.with_extension("");
        let label = named
            .iter()
            .map(|part| part.to_string_lossy())
            .collect::<Vec<_>>()
            .join(".");
        assert_eq!(
            label,
            kernel.label(),
            "shaders/{} holds the source of {} (STYLE.md convention 1)",
            relative.display(),
            kernel.label()
        );
    }
    assert_eq!(
        files.len(),
        Kernel::ALL.len() + Library::ALL.len(),
        "one .wgsl per kernel and per library: {} files for {} kernels and {} libraries",
        files.len(),
        Kernel::ALL.len(),
        Library::ALL.len()
    );
}

#[test]
fn every_library_validates_on_its_own() {
    for library in Library::ALL {
        let module = naga::front::wgsl::parse_str(library.source())
            .unwrap_or_else(|e| panic!("{library:?}:\n{}", e.emit_to_string(library.source())));
        Validator::new(ValidationFlags::all(), Capabilities::all())
            .validate(&module)
            .unwrap_or_else(|e| panic!("{library:?}: {e:?}"));
    }
}

/// A Rust field: name, byte offset, scalar type (`"u32"`, `"f32"`, ...).
type Field = (&'static str, usize, &'static str);

/// The fields and size of a `#[repr(C)]` struct. The destructuring (no `..`) fails to compile
/// when a field is left out, and the `let _: T` lines when a type is wrong.
macro_rules! rust_layout {
    ($ty:path { $($field:ident: $fty:ty),* $(,)? }) => {{
        let _exhaustive = |value: &$ty| {
            let $ty { $($field),* } = *value;
            $(let _: $fty = $field;)*
        };
        (
            &[$((stringify!($field), offset_of!($ty, $field), stringify!($fty))),*]
                as &[Field],
            size_of::<$ty>(),
        )
    }};
}

/// The WGSL name of a scalar member type.
fn scalar_name(module: &Module, ty: naga::Handle<naga::Type>) -> String {
    match module.types[ty].inner {
        TypeInner::Scalar(s) => match (s.kind, s.width) {
            (ScalarKind::Uint, 4) => "u32".into(),
            (ScalarKind::Sint, 4) => "i32".into(),
            (ScalarKind::Float, 4) => "f32".into(),
            _ => format!("{s:?}"),
        },
        ref other => format!("{other:?}"),
    }
}

/// Where the WGSL struct `name` of `kernel` disagrees with the Rust `fields` and `size`.
fn layout_problems(kernel: Kernel, name: &str, (fields, size): (&[Field], usize)) -> Vec<String> {
    let module = parse(kernel);
    let what = format!("{} struct {name}", kernel.label());
    let Some((members, span)) = module.types.iter().find_map(|(_, ty)| match &ty.inner {
        TypeInner::Struct { members, span } if ty.name.as_deref() == Some(name) => {
            Some((members, *span))
        }
        _ => None,
    }) else {
        return vec![format!("{what}: not found")];
    };
    let wgsl: Vec<(String, usize, String)> = members
        .iter()
        .map(|m| {
            (
                m.name.clone().unwrap_or_default(),
                m.offset as usize,
                scalar_name(&module, m.ty),
            )
        })
        .collect();
    let rust: Vec<(String, usize, String)> = fields
        .iter()
        .map(|&(n, o, t)| (n.to_string(), o, t.to_string()))
        .collect();
    let mut problems = Vec::new();
    if wgsl != rust {
        problems.push(format!(
            "{what}: members (name, offset, type) differ\n  wgsl {wgsl:?}\n  rust {rust:?}"
        ));
    }
    if span as usize != size {
        problems.push(format!("{what}: WGSL size {span}, Rust size {size}"));
    }
    problems
}

#[test]
fn every_uniform_and_storage_struct_matches_its_rust_mirror() {
    use gpu_cnn::gpu::step_table::StepParams;
    use gpu_cnn::layers::{
        activation, batch_normalization, bias, dropout, gather, matmul, pool2d, softmax,
        softmax_xent,
    };
    use gpu_cnn::optim::{adam, rmsprop, sgd};

    let step = rust_layout!(StepParams {
        sample_start: u32,
        batch_rows: u32,
        slot: u32,
        step_rate: f32,
        step: u32,
        learning_rate: f32,
        _pad1: u32,
        _pad2: u32,
    });
    let pool = rust_layout!(pool2d::Params {
        batch: u32,
        in_h: u32,
        in_w: u32,
        channels: u32,
        out_h: u32,
        out_w: u32,
        pool_h: u32,
        pool_w: u32,
        stride_h: u32,
        stride_w: u32,
        columns_h: u32,
        columns_w: u32,
        tap_h: u32,
        tap_w: u32,
        tap_stride_h: u32,
        tap_stride_w: u32,
        pad_top: u32,
        pad_left: u32,
        _pad0: u32,
        _pad1: u32,
    });
    let activation = rust_layout!(activation::Params {
        len: u32,
        _pad0: u32,
        _pad1: u32,
        _pad2: u32,
    });
    let dropout = rust_layout!(dropout::Params {
        len: u32,
        seed: u32,
        threshold: u32,
        scale: f32,
    });
    let batch_normalization = rust_layout!(batch_normalization::Params {
        rows: u32,
        positions: u32,
        channels: u32,
        momentum: f32,
        epsilon: f32,
        _pad0: u32,
        _pad1: u32,
        _pad2: u32,
    });
    let mut problems = Vec::new();
    #[rustfmt::skip]
    let pairs = [
        (Kernel::GatherForward, "Params", rust_layout!(gather::Params { rows: u32, sample_len: u32, _pad0: u32, _pad1: u32 })),
        (Kernel::MatmulForward, "Params", rust_layout!(matmul::Params {
            m: u32, n: u32, k: u32, k_chunk: u32, in_h: u32, in_w: u32, in_c: u32, out_h: u32,
            out_w: u32, out_c: u32, kernel_h: u32, kernel_w: u32, stride_h: u32, stride_w: u32,
            pad_top: u32, pad_left: u32, pooled_h: u32, pooled_w: u32, _pad0: u32, _pad1: u32,
        })),
        (Kernel::MatmulSumSplits, "Params", rust_layout!(matmul::SumParams { splits: u32, m: u32, n: u32, _pad0: u32 })),
        (Kernel::Pool2dForward, "Params", pool),
        (Kernel::Pool2dBackwardInput, "Params", pool),
        (Kernel::BiasBackward, "Params", rust_layout!(bias::Params { rows: u32, cols: u32, tail_len: u32, _pad0: u32 })),
        (Kernel::SoftmaxXentForward, "Params", rust_layout!(softmax_xent::Params { rows: u32, classes: u32, inputs: u32, kernel_at: u32, bias_at: u32, _pad0: u32, _pad1: u32, _pad2: u32 })),
        (Kernel::SoftmaxForward, "Params", rust_layout!(softmax::Params { rows: u32, classes: u32, _pad0: u32, _pad1: u32 })),
        (Kernel::SoftmaxXentForward, "Metrics", rust_layout!(softmax_xent::Metrics { loss_sum: f32, correct: u32 })),
        (Kernel::AdamStep, "Params", rust_layout!(adam::Params { len: u32, beta1: f32, beta2: f32, epsilon: f32, weight_decay: f32, _pad0: u32, _pad1: u32, _pad2: u32 })),
        (Kernel::SgdStep, "Params", rust_layout!(sgd::Params { len: u32, momentum: f32, _pad0: u32, _pad1: u32 })),
        (Kernel::RmspropStep, "Params", rust_layout!(rmsprop::Params { len: u32, rho: f32, momentum: f32, epsilon: f32 })),
        (Kernel::ActivationForward, "Params", activation),
        (Kernel::ActivationBackwardInput, "Params", activation),
        (Kernel::DropoutForward, "Params", dropout),
        (Kernel::BatchNormalizationForward, "Params", batch_normalization),
        (Kernel::BatchNormalizationBackward, "Params", batch_normalization),
    ];
    for (kernel, name, rust) in pairs {
        problems.extend(layout_problems(kernel, name, rust));
    }
    for kernel in Kernel::ALL.into_iter().filter(|k| k.uses_step_table()) {
        problems.extend(layout_problems(kernel, "StepParams", step));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The lines of `source` where one parenthesis level mixes a bitwise `&`, `|` or `^` with a
/// comparison, as `line: text`. Operators are recognised by their spacing (` & `, ` < `), the
/// way the kernels are written, so `vec4<i32>` and `&x` are not taken for them.
fn unparenthesised_mixes(source: &str) -> Vec<String> {
    const COMPARISONS: [&str; 6] = [" == ", " != ", " <= ", " >= ", " < ", " > "];
    const BITWISE: [&str; 3] = [" & ", " | ", " ^ "];
    let mut found = Vec::new();
    // Per open parenthesis: (a bitwise operator seen, a comparison seen).
    let mut levels = vec![(false, false)];
    for (number, line) in source.lines().enumerate() {
        let code = format!(" {} ", line.split("//").next().unwrap_or_default());
        let mut mixed = false;
        for (at, byte) in code.bytes().enumerate() {
            match byte {
                b'(' | b'[' => levels.push((false, false)),
                b')' | b']' if levels.len() > 1 => {
                    levels.pop();
                }
                b';' | b'{' | b'}' | b',' => *levels.last_mut().unwrap() = (false, false),
                _ => {}
            }
            let rest = &code[at..];
            let level = levels.last_mut().unwrap();
            level.0 |= BITWISE.iter().any(|op| rest.starts_with(op));
            level.1 |= COMPARISONS.iter().any(|op| rest.starts_with(op));
            mixed |= *level == (true, true);
        }
        if mixed {
            found.push(format!("{}: {}", number + 1, line.trim()));
        }
    }
    found
}

#[test]
fn the_scanner_finds_a_bitwise_and_of_unparenthesised_comparisons_and_nothing_else() {
    let mixed = "let inside = ok & ih >= vec4<i32>(0)\n    & iw < n;\n";
    assert_eq!(
        unparenthesised_mixes(mixed),
        ["1: let inside = ok & ih >= vec4<i32>(0)", "2: & iw < n;"]
    );
    let fine = "let inside = ok & (ih >= vec4<i32>(0)) & (iw < n);\n\
                let both = a < b && c == d;\nlet bits = x & 255u;\natomicAdd(&x, 1u);\n";
    assert_eq!(unparenthesised_mixes(fine), Vec::<String>::new());
}

#[test]
fn no_kernel_mixes_bitwise_operators_and_comparisons_without_parentheses() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let problems: Vec<String> = wgsl_files(&dir)
        .iter()
        .flat_map(|path| {
            let source = std::fs::read_to_string(path).unwrap();
            let name = path.strip_prefix(&dir).unwrap().display().to_string();
            unparenthesised_mixes(&source)
                .into_iter()
                .map(move |place| format!("{name}:{place}"))
        })
        .collect();
    assert!(
        problems.is_empty(),
        "WGSL needs parentheses around a comparison inside a bitwise expression (Tint, the \
         browsers' compiler, rejects the module; naga accepts it):\n{}",
        problems.join("\n")
    );
}
