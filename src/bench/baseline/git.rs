//! A saved baseline's code, taken out of its git commit with `git archive` so that
//! `--baseline` can time it again beside the current code.
use std::path::Path;
use std::process::{Command, Stdio};

/// `git -C root ARGS`'s trimmed output, None if git is missing or fails.
fn git(root: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The commit checked out under `root`, None outside a git checkout.
pub fn head(root: &Path) -> Option<String> {
    git(root, &["rev-parse", "HEAD"]).filter(|s| !s.is_empty())
}

/// No uncommitted changes to tracked files under `root`. Untracked files do not count: build
/// output and reports would otherwise make every checkout dirty.
pub fn clean(root: &Path) -> bool {
    git(
        root,
        &["status", "--porcelain", "--untracked-files=no", "--", "."],
    )
    .is_some_and(|s| s.is_empty())
}

fn short(commit: &str) -> &str {
    commit.get(..10).unwrap_or(commit)
}

/// A baseline's code, extracted from its git commit so that `--baseline` can time it again
/// in the same run as the current code (the folder goes when this is dropped).
pub struct CodeTree {
    pub dir: tempfile::TempDir,
    pub commit: String,
}

impl CodeTree {
    /// The project root as it was in the baseline's commit.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn short_commit(&self) -> &str {
        short(&self.commit)
    }
}

/// Why a baseline's code cannot be timed again (its saved samples are compared instead).
/// The messages finish "baseline X's code was not timed again (...)".
#[derive(Debug, thiserror::Error)]
pub enum CodeTreeError {
    #[error("--saved-samples was given")]
    SavedSamplesAsked,
    #[error("it records no git commit (it was not saved in a git checkout)")]
    NoCommit,
    #[error(
        "it was saved with uncommitted changes, so commit {} is not the code it measured",
        short(.commit)
    )]
    SavedDirty { commit: String },
    #[error("this project is not in a git checkout now")]
    NotACheckout,
    #[error(
        "its commit {} is not in this checkout (in a shallow CI clone, fetch it, e.g. `git fetch --depth=1 origin {commit}`)",
        short(.commit)
    )]
    CommitMissing { commit: String },
    #[error("cannot make a temporary folder: {0}")]
    TempDir(std::io::Error),
    #[error("cannot run git: {0}")]
    RunGit(std::io::Error),
    #[error("git archive: {0}")]
    WaitGit(std::io::Error),
    #[error("`git archive {tree}` failed: {stderr}")]
    Archive { tree: String, stderr: String },
    #[error("cannot extract commit {}: {source}", short(.commit))]
    Extract {
        commit: String,
        source: std::io::Error,
    },
}

/// Extract the project folder (`root`, as a path inside its checkout) of `commit`, which a
/// baseline recorded; `saved_clean` says it was saved without uncommitted changes, so that the
/// commit is the code it measured.
pub fn code_tree(
    root: &Path,
    commit: Option<&str>,
    saved_clean: bool,
) -> Result<CodeTree, CodeTreeError> {
    let commit = commit.ok_or(CodeTreeError::NoCommit)?.to_string();
    if !saved_clean {
        return Err(CodeTreeError::SavedDirty { commit });
    }
    let (Some(top), Some(prefix)) = (
        git(root, &["rev-parse", "--show-toplevel"]),
        git(root, &["rev-parse", "--show-prefix"]),
    ) else {
        return Err(CodeTreeError::NotACheckout);
    };
    if git(root, &["cat-file", "-e", &format!("{commit}^{{commit}}")]).is_none() {
        return Err(CodeTreeError::CommitMissing { commit });
    }
    let dir = tempfile::Builder::new()
        .prefix("dbtest-baseline-")
        .tempdir()
        .map_err(CodeTreeError::TempDir)?;
    let prefix = prefix.trim_end_matches('/');
    let tree = if prefix.is_empty() {
        commit.clone()
    } else {
        format!("{commit}:{prefix}")
    };
    // From the top: run in a subfolder, `git archive` would read the tree path from there.
    let mut child = Command::new("git")
        .arg("-C")
        .arg(&top)
        .args(["archive", "--format=tar", &tree])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(CodeTreeError::RunGit)?;
    let unpacked = match child.stdout.take() {
        Some(out) => tar::Archive::new(out).unpack(dir.path()),
        None => Ok(()),
    };
    let out = child.wait_with_output().map_err(CodeTreeError::WaitGit)?;
    if !out.status.success() {
        return Err(CodeTreeError::Archive {
            tree,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    if let Err(source) = unpacked {
        return Err(CodeTreeError::Extract { commit, source });
    }
    Ok(CodeTree { dir, commit })
}
