//! The Rust side of the ABI conformance check: every struct and function of nexa_kernels.h against the
//! `#[repr(C)]` structs and `extern "C"` fns of this crate, as rustc sees them.
//!
//! `abi_gen rust` writes one entry per header struct, field and function (generated from the header's description,
//! so a new declaration is covered without editing this file). Each entry holds the header's facts (the C type,
//! the offsets and sizes the C compiler measured) next to the same facts taken from the Rust item:
//! `size_of`/`align_of`/`offset_of!`, the field's type, and the signature of the fn item. Types are compared by
//! `TypeId`: the header's type mapped through the C-named aliases in [`c`] (`uint64_t` = `u64`,
//! `nexa_gate_config` = `GateConfigC`, a callback = `Option<unsafe extern "C" fn(..)>`) must be the Rust type.
//! Some drift does not even compile: a field missing on either side (the generated `same_fields` destructures
//! every struct exhaustively), a function that does not exist, or one with another number of arguments.

use std::any::{type_name, TypeId};

// Every exported function, by its C name (the generated entries name them unqualified).
#[allow(unused_imports)]
use crate::{
    decode_abi::*, gate_abi::*, model_abi::*, model_train_abi::*, pack_abi::*, shuffle_abi::*, stats_abi::*,
    tokenize_abi::*,
};
#[allow(unused_imports)]
use crate::{nexa_abi_version, nexa_last_error, nexa_selftest_panic};

/// The C names of the Rust types. A struct or handle added to the header needs its line here (the generated
/// code does not compile without it: "cannot find type `nexa_…` in module `c`").
#[allow(non_camel_case_types, dead_code)]
pub(crate) mod c {
    pub type void = std::ffi::c_void;
    pub type char = std::ffi::c_char;
    pub type int8_t = i8;
    pub type uint8_t = u8;
    pub type int16_t = i16;
    pub type uint16_t = u16;
    pub type int32_t = i32;
    pub type uint32_t = u32;
    pub type int64_t = i64;
    pub type uint64_t = u64;
    pub type size_t = usize;
    pub type float = f32;
    pub type double = f64;

    pub type nexa_tokenizer = crate::tokenize_abi::TokenizerHandle;
    pub type nexa_gate = gate::Gate;
    pub type nexa_pack_plan = pack::PackPlan;
    pub type nexa_model = ::nexa_model::Model;
    pub type nexa_decoder = crate::decode_abi::DecoderHandle;

    pub type nexa_gate_config = crate::gate_abi::GateConfigC;
    pub type nexa_pack_stats = crate::pack_abi::PackStatsC;
    pub type nexa_length_stats = crate::stats_abi::LengthStatsC;
    pub type nexa_model_config = crate::model_abi::ModelConfigC;
    pub type nexa_train_config = crate::model_abi::TrainConfigC;
    pub type nexa_model_info = crate::model_abi::ModelInfoC;
    pub type nexa_step_metrics = crate::model_train_abi::StepMetricsC;
    pub type nexa_eval_result = crate::model_abi::EvalResultC;
    pub type nexa_generate_options = crate::model_abi::GenerateOptionsC;
}

// ---------------------------------------------------------------------------
// Facts about Rust types
// ---------------------------------------------------------------------------

/// A Rust type: its identity, its name (for messages) and its size.
#[derive(Clone, Copy)]
pub(crate) struct Ty {
    id: TypeId,
    name: &'static str,
    size: usize,
}

pub(crate) fn ty<T: 'static>() -> Ty {
    Ty { id: TypeId::of::<T>(), name: type_name::<T>(), size: std::mem::size_of::<T>() }
}

/// The type of a field, named by a projection closure (`|s: &S| &s.field`).
pub(crate) fn field_ty<S, F: 'static>(_: fn(&S) -> &F) -> Ty {
    ty::<F>()
}

/// Argument and return types of an `extern "C"` fn.
pub(crate) struct Signature {
    params: Vec<Ty>,
    ret: Ty,
}

pub(crate) trait CFn {
    fn signature() -> Signature;
}

macro_rules! c_fn_arities {
    ($($a:ident),*) => {
        impl<R: 'static, $($a: 'static),*> CFn for unsafe extern "C" fn($($a),*) -> R {
            fn signature() -> Signature {
                Signature { params: vec![$(ty::<$a>()),*], ret: ty::<R>() }
            }
        }
    };
}
c_fn_arities!();
c_fn_arities!(A);
c_fn_arities!(A, B);
c_fn_arities!(A, B, C);
c_fn_arities!(A, B, C, D);
c_fn_arities!(A, B, C, D, E);
c_fn_arities!(A, B, C, D, E, F);
c_fn_arities!(A, B, C, D, E, F, G);
c_fn_arities!(A, B, C, D, E, F, G, H);
c_fn_arities!(A, B, C, D, E, F, G, H, I);
c_fn_arities!(A, B, C, D, E, F, G, H, I, J);
c_fn_arities!(A, B, C, D, E, F, G, H, I, J, K);
c_fn_arities!(A, B, C, D, E, F, G, H, I, J, K, L);
c_fn_arities!(A, B, C, D, E, F, G, H, I, J, K, L, M);
c_fn_arities!(A, B, C, D, E, F, G, H, I, J, K, L, M, N);
c_fn_arities!(A, B, C, D, E, F, G, H, I, J, K, L, M, N, O);
c_fn_arities!(A, B, C, D, E, F, G, H, I, J, K, L, M, N, O, P);

/// The signature of a fn item cast to `unsafe extern "C" fn(_, ..) -> _` (the types are rustc's).
pub(crate) fn signature<F: CFn>(_: F) -> Signature {
    F::signature()
}

// ---------------------------------------------------------------------------
// The checks (entries written by abi_gen rust)
// ---------------------------------------------------------------------------

pub(crate) struct FieldCheck {
    pub name: &'static str,
    pub line: u32,
    pub c_type: &'static str,
    pub c_offset: usize,
    pub expected: Ty,
    pub actual: Ty,
    pub rust_offset: usize,
}

pub(crate) struct StructCheck {
    pub name: &'static str,
    pub line: u32,
    pub c_size: usize,
    pub c_align: usize,
    pub rust: Ty,
    pub rust_align: usize,
    pub fields: Vec<FieldCheck>,
}

pub(crate) struct ParamCheck {
    pub name: &'static str,
    pub c_type: &'static str,
    pub expected: Ty,
}

pub(crate) struct FnCheck {
    pub name: &'static str,
    pub line: u32,
    pub params: Vec<ParamCheck>,
    pub ret_c_type: &'static str,
    pub ret: Ty,
    pub actual: Signature,
}

/// `c_type (Rust expected)`, for messages.
fn header_side(c_type: &str, expected: &Ty) -> String {
    format!("{c_type} (Rust {})", expected.name)
}

/// Every way the Rust items differ from the header, one message each (empty when they agree).
pub(crate) fn mismatches(header: &str, structs: &[StructCheck], functions: &[FnCheck]) -> Vec<String> {
    let mut out = Vec::new();
    for s in structs {
        let at = format!("{header}:{}", s.line);
        if s.rust.size != s.c_size || s.rust_align != s.c_align {
            out.push(format!(
                "{at}: struct {} is {} bytes aligned to {} in C, but {} is {} bytes aligned to {}",
                s.name, s.c_size, s.c_align, s.rust.name, s.rust.size, s.rust_align
            ));
        }
        for f in &s.fields {
            let at = format!("{header}:{}", f.line);
            if f.actual.id != f.expected.id {
                out.push(format!(
                    "{at}: field {}.{} is {} in the header, but {} in {}",
                    s.name,
                    f.name,
                    header_side(f.c_type, &f.expected),
                    f.actual.name,
                    s.rust.name
                ));
            }
            if f.rust_offset != f.c_offset {
                out.push(format!(
                    "{at}: field {}.{} is at offset {} in C, but at {} in {} (field order, types or #[repr(C)])",
                    s.name, f.name, f.c_offset, f.rust_offset, s.rust.name
                ));
            }
        }
    }
    for f in functions {
        let at = format!("{header}:{}", f.line);
        if f.actual.ret.id != f.ret.id {
            out.push(format!(
                "{at}: {} returns {} in the header, but {} in kernels/abi",
                f.name,
                header_side(f.ret_c_type, &f.ret),
                f.actual.ret.name
            ));
        }
        // The arity is checked by rustc (the generated cast names one `_` per header argument).
        for (i, (p, actual)) in f.params.iter().zip(&f.actual.params).enumerate() {
            if actual.id != p.expected.id {
                out.push(format!(
                    "{at}: {} argument {} ({}) is {} in the header, but {} in kernels/abi",
                    f.name,
                    i + 1,
                    p.name,
                    header_side(p.c_type, &p.expected),
                    actual.name
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The real header (generated from //kernels/abi:nexa_kernels_abi).
    mod header {
        use super::super::*;
        include!("nexa_kernels_abi_view.rs");
    }

    /// The header with three deliberate changes (//kernels/abi:fixture_header), against the same Rust items.
    mod broken {
        use super::super::*;
        include!("fixture_abi_view.rs");
    }

    #[test]
    fn every_struct_and_function_of_the_header_matches_rust() {
        let (structs, functions) = (header::structs(), header::functions());
        assert!(
            structs.len() >= 9 && functions.len() >= 46,
            "{} structs, {} functions",
            structs.len(),
            functions.len()
        );
        let problems = mismatches(header::HEADER, &structs, &functions);
        assert!(problems.is_empty(), "the Rust ABI differs from {}:\n{}", header::HEADER, problems.join("\n"));
    }

    #[test]
    fn a_changed_field_type_layout_or_argument_is_reported_by_name() {
        let h = broken::HEADER;
        let lines = |needle: &str| -> u32 {
            let src = include_str!("nexa_kernels.h");
            1 + src.lines().position(|l| l.contains(needle)).unwrap_or_else(|| panic!("{needle} not in the header"))
                as u32
        };
        let (fill, top_k, seed) =
            (lines("double fill_ratio;"), lines("uint32_t top_k;"), lines("nexa_status nexa_shuffle_fill("));
        let (temperature, top_p, options_seed) = (lines("double temperature;"), lines("double top_p;"), top_k + 3);
        let options = lines("typedef struct nexa_generate_options {");
        let problems = mismatches(h, &broken::structs(), &broken::functions());
        assert_eq!(
            problems,
            vec![
                format!("{h}:{fill}: field nexa_pack_stats.fill_ratio is uint64_t (Rust u64) in the header, but f64 in nexa_kernels::pack_abi::PackStatsC"),
                format!("{h}:{options}: struct nexa_generate_options is 40 bytes aligned to 8 in C, but nexa_kernels::model_abi::GenerateOptionsC is 32 bytes aligned to 8"),
                format!("{h}:{top_k}: field nexa_generate_options.top_k is uint64_t (Rust u64) in the header, but u32 in nexa_kernels::model_abi::GenerateOptionsC"),
                format!("{h}:{top_k}: field nexa_generate_options.top_k is at offset 8 in C, but at 4 in nexa_kernels::model_abi::GenerateOptionsC (field order, types or #[repr(C)])"),
                format!("{h}:{temperature}: field nexa_generate_options.temperature is at offset 16 in C, but at 8 in nexa_kernels::model_abi::GenerateOptionsC (field order, types or #[repr(C)])"),
                format!("{h}:{top_p}: field nexa_generate_options.top_p is at offset 24 in C, but at 16 in nexa_kernels::model_abi::GenerateOptionsC (field order, types or #[repr(C)])"),
                format!("{h}:{options_seed}: field nexa_generate_options.seed is at offset 32 in C, but at 24 in nexa_kernels::model_abi::GenerateOptionsC (field order, types or #[repr(C)])"),
                format!("{h}:{seed}: nexa_shuffle_fill argument 2 (seed) is uint32_t (Rust u32) in the header, but u64 in kernels/abi"),
            ]
        );
    }

    #[test]
    fn callbacks_and_handles_map_to_nullable_fn_pointers_and_their_rust_types() {
        let f = header::functions()
            .into_iter()
            .find(|f| f.name == "nexa_model_train_steps")
            .expect("nexa_model_train_steps");
        let progress = f.params.iter().position(|p| p.name == "progress").expect("progress argument");
        assert_eq!(f.params[progress].c_type, "void (*)(void *, uint64_t, double, double, double, uint64_t)");
        let callback = ty::<Option<unsafe extern "C" fn(*mut std::ffi::c_void, u64, f64, f64, f64, u64)>>();
        assert!(f.params[progress].expected.id == callback.id && f.actual.params[progress].id == callback.id);
        assert!(f.params[0].expected.id == ty::<*mut ::nexa_model::Model>().id, "{}", f.params[0].expected.name);
    }
}
