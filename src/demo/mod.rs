//! The demo site `scelle demo` runs on: everything a newcomer's machine lacks, embedded in the
//! binary or made in-process, so the demo needs nothing installed but the binary itself.
//!
//! - [`footage`]: camera `cam1`'s recorded segments (`demo/footage/`, made by
//!   `demo/make-footage.sh`), embedded with `include_bytes!` and written into the temporary
//!   "recorder" folder the segment source reads;
//! - [`site`]: the two demo people (an operator and an authorizer sharing the current Unix
//!   account, each with an Ed25519 key made with `ssh-key`, no `ssh-keygen`), the written
//!   request of the demo case, and the configuration file of the demo daemon.
//!
//! Nothing here prints or talks to the daemon: `cli/demo.rs` drives the run.

pub mod footage;
pub mod site;
