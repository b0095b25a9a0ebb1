//! The extraction register (see `docs/REGISTER.md`).
