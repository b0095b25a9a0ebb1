//! The control interface: the protocol spoken on the Unix socket (shared by the CLI and the
//! daemon), the frame decoder that faces untrusted bytes, caller identification, and the
//! socket server. Specification: `docs/PROTOCOL.md`.
//!
//! The caller is who the kernel says (SO_PEERCRED uid → Unix account → people list); when one
//! account is shared by several people, the person proves who they are by signing a fresh
//! challenge with their own SSH key. Nothing here decides what a person may do: that is
//! [`crate::case`]'s job.

pub mod access_ops;
pub mod blocking_ops;
mod camera_ops;
mod case_ops;
pub mod delivery_ops;
pub mod error_codes;
mod export_ops;
pub mod frame;
pub mod handlers;
pub mod identify;
mod identity_ops;
pub mod limits;
pub mod media_ops;
pub mod passwd;
pub mod protocol;
pub mod report_ops;
pub mod server;

pub use protocol::{ErrorCode, PROTOCOL_VERSION};
