//! The sealed evidence container (spec: `docs/FORMAT.md`).
