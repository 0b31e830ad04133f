//! Nothing here: the differential test is `tests/readers.rs`.
