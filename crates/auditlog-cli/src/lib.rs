//! The `auditlog` command (see the binary); this library target only keeps
//! the README's examples compiling, as doc tests.

#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
