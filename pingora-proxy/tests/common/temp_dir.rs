//! A scratch directory for one test, removed when the test is done with it.

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// An empty directory under the system temp directory, removed (with its contents) on drop.
/// Derefs to its [`Path`], so `dir.join("file")` names a file inside it.
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates `pingora-core-<tag>-<pid>-<n>`, emptying a stale one left by an earlier run.
    /// The name stays short so that Unix socket paths inside it fit the 108-byte limit.
    pub fn new(tag: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("pingora-core-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create a scratch directory");
        TempDir(path)
    }
}

impl Deref for TempDir {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
