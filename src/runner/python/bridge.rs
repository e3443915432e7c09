//! What the bridge knows about the run: set once when the interpreter starts, read by every
//! file that runs and every failure that is described.
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::runner::collect::Collection;

/// What the bridge needs to know about the run, set once at start-up.
pub(crate) struct Bridge {
    /// The run's working directory, restored after any test that changes it.
    pub(super) cwd: Option<PathBuf>,
    pub(super) root: PathBuf,
    pub(super) shim_dir: String,
    /// Folders whose frames are machinery, not user code (asyncio's, importlib's).
    pub(super) machinery: Vec<String>,
}

pub(super) static BRIDGE: OnceLock<Bridge> = OnceLock::new();

/// pytest's naming rules and asyncio mode for this process's `_compat` (set before the first
/// file runs: by a worker from its configuration, by `-n 0` from the run's options).
pub(super) static COLLECTION: OnceLock<Collection> = OnceLock::new();

/// The rules `_compat` is configured with (pytest's defaults if none were set).
pub(super) fn collection() -> Collection {
    COLLECTION.get().cloned().unwrap_or_default()
}

impl Bridge {
    pub(super) fn get() -> &'static Bridge {
        BRIDGE
            .get()
            .expect("the interpreter is started before any file runs")
    }

    fn is_shim(&self, file: &str) -> bool {
        file.starts_with(&self.shim_dir)
    }

    pub(super) fn is_machinery(&self, file: &str) -> bool {
        self.is_shim(file) || self.machinery.iter().any(|m| file.starts_with(m.as_str()))
    }

    pub(super) fn display_path(&self, file: &str) -> String {
        match Path::new(file).strip_prefix(&self.root) {
            Ok(rel) => rel.to_string_lossy().into_owned(),
            Err(_) => file.to_string(),
        }
    }
}
