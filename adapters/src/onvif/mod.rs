//! ONVIF Profile G: a thin SOAP 1.2 client of scelle's own (`quick-xml` + `reqwest`) for the
//! dozen calls needed to find footage on a recorder (device facts, clock, services, profiles,
//! recordings search, replay URI), and the [`OnvifSource`] built on it.
//!
//! Layout: [`xml`] reads untrusted XML into a small tree; [`parse`] turns responses into
//! [`types`]; [`wsse`] and HTTP Digest ([`crate::digest`]) authenticate; [`client`] sends the calls;
//! [`plan`] computes recorded/missing spans; [`source`] implements [`crate::Source`].
//! Why not an existing crate: `docs/decisions/0030-onvif-client.md`.

pub mod client;
pub mod parse;
pub mod plan;
pub mod source;
pub mod types;
pub mod wsse;
pub mod xml;

pub use client::{OnvifClient, OnvifConfig};
pub use source::OnvifSource;
pub use types::*;
