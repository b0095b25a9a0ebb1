//! What every connection and background task of a running daemon shares.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use tokio_util::sync::CancellationToken;

use crate::case::Cases;
use crate::config::Config;
use crate::register::{Register, SiteKey};

/// Shared state of a running daemon.
pub struct State {
    pub config_path: PathBuf,
    config: RwLock<Arc<Config>>,
    pub register: Arc<Register>,
    pub cases: Cases,
    /// Cancelled by the first SIGTERM: stop accepting, finish what runs.
    pub shutdown: CancellationToken,
    /// The site's own key (`<state_dir>/site-key`): it seals every register entry (decision
    /// 0060), and its fingerprint binds challenges and statements to this site.
    pub site_key: Arc<SiteKey>,
}

impl State {
    pub fn new(
        config_path: PathBuf,
        config: Config,
        register: Arc<Register>,
        cases: Cases,
        site_key: Arc<SiteKey>,
    ) -> State {
        State {
            config_path,
            config: RwLock::new(Arc::new(config)),
            register,
            cases,
            shutdown: CancellationToken::new(),
            site_key,
        }
    }

    /// The site as approval and countersignature statements name it.
    pub fn site_id(&self) -> crate::case::SiteId {
        crate::case::SiteId {
            fingerprint: self.site_key.fingerprint(),
            name: self.config().site.name.clone(),
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> Arc<Config> {
        self.config
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Puts a new configuration in force.
    pub fn set_config(&self, config: Config) {
        *self.config.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(config);
    }
}
