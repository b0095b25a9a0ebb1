//! scelle: turns CCTV footage into sealed, encrypted legal evidence.
//!
//! The crate is laid out one room per concern (see `docs/` and the design notes):
//! - [`seal`] owns the encrypted container format (spec: `docs/FORMAT.md`);
//! - [`register`] owns the tamper-evident extraction register;
//! - [`cli`] is the command line: argument parsing, output, exit codes.
//!
//! Only `seal` knows the container bytes and only `register` writes the register; everything
//! else goes through their public APIs.

pub mod cli;
pub mod error;
pub mod mp4;
pub mod register;
pub mod seal;
