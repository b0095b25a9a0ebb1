//! The `[export]` section: which drives may receive evidence (ENC-3), whether the destination
//! must be a drive other than the system disk, the cost of the password derivation, the
//! bitrate assumed when estimating the space an export needs, and how long a silent camera is
//! waited for.

use serde::Deserialize;

/// Export settings.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Export {
    /// Encrypted drives approved for exports, by model and serial as sysfs reports them.
    #[serde(default)]
    pub approved_drives: Vec<ApprovedDrive>,
    /// Refuse a destination on the system disk's filesystem. Only demos and tests turn this
    /// off; the register then records that the destination was not a separate drive.
    #[serde(default = "yes")]
    pub require_separate_drive: bool,
    /// Argon2id memory of the export's containers, in MiB (decision 0002; 8 is the minimum
    /// readers accept and is meant for tests).
    #[serde(default = "default_kdf_memory_mib")]
    pub kdf_memory_mib: u32,
    /// Argon2id passes.
    #[serde(default = "default_kdf_passes")]
    pub kdf_passes: u32,
    /// Bitrate assumed per camera when estimating the space an export needs, in kbit/s
    /// (a guess: the real bitrate is only known once pulled).
    #[serde(default = "default_bitrate")]
    pub assumed_bitrate_kbps: u32,
    /// A camera that sends no media for this long (reconnections included) fails its export,
    /// the message saying what it had sent, in seconds.
    #[serde(default = "default_stall")]
    pub source_stall_secs: u32,
}

impl Default for Export {
    fn default() -> Self {
        Export {
            approved_drives: Vec::new(),
            require_separate_drive: true,
            kdf_memory_mib: default_kdf_memory_mib(),
            kdf_passes: default_kdf_passes(),
            assumed_bitrate_kbps: default_bitrate(),
            source_stall_secs: default_stall(),
        }
    }
}

/// One approved drive.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ApprovedDrive {
    pub model: String,
    pub serial: String,
    /// The drive's ANSSI certification or qualification (`CSPN-2023/12`), printed next to the
    /// drive in the export record, the receipt and the register report (POL-CYB-006 §01).
    #[serde(default)]
    pub certification: Option<String>,
}

fn yes() -> bool {
    true
}
fn default_kdf_memory_mib() -> u32 {
    256
}
fn default_kdf_passes() -> u32 {
    3
}
fn default_bitrate() -> u32 {
    8000
}
fn default_stall() -> u32 {
    60
}
