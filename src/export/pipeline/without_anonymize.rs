//! A build without the cargo feature `anonymize` (no face detector): access-request exports
//! and reviews are refused with a clear message before anything is pulled or written, since
//! the original footage of an access request is never handed over (DEL-2, decision 0150).
//! The types keep the shape of `anonymized.rs` and `review.rs` so the callers compile as is.

use std::sync::Arc;

use super::Job;
use super::file::FileContext;
use crate::case::export_record::ExportedFile;
use crate::export::ExportError;

/// Why an access request cannot be exported by this build.
pub const MISSING: &str = "this scelle was built without the anonymization engine (cargo \
    feature `anonymize`): an access-request case is only ever exported anonymized, so it \
    cannot be exported by this build; install the Debian package or build with the default \
    features";

/// As in `anonymized.rs`.
#[derive(Clone)]
pub struct Anonymize {
    pub no_viewing_reason: String,
    pub keep: Vec<(usize, u32)>,
    pub confirmed_by: String,
    pub review: Option<Arc<review::Review>>,
}

impl Anonymize {
    pub fn started_facts(&self) -> serde_json::Value {
        serde_json::Value::Null
    }
}

pub(super) async fn camera_task(
    _ctx: Arc<FileContext>,
    _job: Job,
    _anon: Anonymize,
    _first: usize,
) -> Result<Vec<ExportedFile>, ExportError> {
    Err(ExportError::Refused(MISSING.into()))
}

/// As `review.rs`: nothing is ever held.
pub mod review {
    use std::time::Duration;

    use zeroize::Zeroizing;

    use crate::export::ExportError;

    pub const REVIEW_TTL: Duration = Duration::from_secs(30 * 60);

    pub struct Review {
        pub password: Zeroizing<String>,
        pub password_generated: bool,
    }

    impl Review {
        pub fn tracks_of(&self, _position: usize) -> Option<Vec<u32>> {
            None
        }
    }

    pub fn of(_case: &str, _person: &str) -> Result<Option<std::sync::Arc<Review>>, ExportError> {
        Ok(None)
    }

    pub fn forget(_case: &str) {}
}
