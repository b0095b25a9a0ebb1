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
    /// The key that seals every register entry (decision 0060).
    pub site_key: Arc<SiteKey>,
    pub cases: Cases,
    /// Cancelled by the first SIGTERM: stop accepting, finish what runs.
    pub shutdown: CancellationToken,
}

impl State {
    pub fn new(
        config_path: PathBuf,
        config: Config,
        register: Arc<Register>,
        site_key: Arc<SiteKey>,
        cases: Cases,
    ) -> State {
        State {
            config_path,
            config: RwLock::new(Arc::new(config)),
            register,
            site_key,
            cases,
            shutdown: CancellationToken::new(),
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
