//! How this crate's own JavaScript-valued types are written in TypeScript.

use ts_rs::{Config, TS};

use crate::value::{BigInt, Blob, Bytes, Date, JsError, Undefined};
use crate::{Promise, RpcError, Stub, Value};

/// `impl TS` writing each type as a fixed TypeScript type, declared by nobody (capnweb or the
/// language has it).
macro_rules! builtin {
    ($($ty:ty => $ts:literal),* $(,)?) => {$(
        impl TS for $ty {
            type WithoutGenerics = Self;
            type OptionInnerType = Self;
            fn name(_: &Config) -> String {
                $ts.to_owned()
            }
            fn inline(cfg: &Config) -> String {
                <Self as TS>::name(cfg)
            }
        }
    )*};
}

builtin! {
    BigInt => "bigint",
    Date => "Date",
    Bytes => "Uint8Array",
    Blob => "Blob",
    JsError => "Error",
    RpcError => "Error",
    Undefined => "undefined",
    // Anything at all: the schema-free types say nothing about what they hold.
    Value => "unknown",
    Stub => "unknown",
    Promise => "unknown",
}
