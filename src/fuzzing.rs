//! Internals the fuzz targets (and a few tests) drive directly: the
//! decoders of the on-disk formats. Not part of the API — hidden from the
//! documentation, and free to change in any release.

/// The dream's exact-duplicate key (normalised text).
pub use crate::dream::exact::exact_key;

/// The store's log (`memories.log`): header and frame decoder.
pub mod log {
    pub use crate::store::log::{Commit, Op, TornTail, decode, header};
}

/// The store's snapshot (`memories.snap`): format constants and decoder.
pub mod snapshot {
    pub use crate::store::snapshot::{
        SNAPSHOT_FORMAT, SNAPSHOT_HEADER_LEN, SNAPSHOT_MAGIC, Snapshot, decode,
    };
}
