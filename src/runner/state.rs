//! The project's `.dbtest` folder: what one run leaves for the next (durations, last
//! failures), machine-local and never worth committing.
use std::path::{Path, PathBuf};

/// The folder, made if missing, with a `.gitignore` that ignores it whole (written only when
/// absent: a truncating write costs a run more than the check). None if it cannot be made (a
/// read-only checkout: the next run only loses its hints).
pub fn dir(root: &Path) -> Option<PathBuf> {
    let dir = root.join(".dbtest");
    std::fs::create_dir_all(&dir).ok()?;
    let ignore = dir.join(".gitignore");
    if !ignore.exists() {
        let _ = std::fs::write(ignore, "*\n");
    }
    Some(dir)
}

/// Write `text` to `path` unless it holds exactly that already.
pub fn write_if_changed(path: &Path, text: &str) {
    if std::fs::read(path).is_ok_and(|old| old == text.as_bytes()) {
        return;
    }
    let _ = std::fs::write(path, text);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_folder_ignores_itself_and_keeps_an_edited_gitignore() {
        let root = tempfile::tempdir().unwrap();
        let d = dir(root.path()).unwrap();
        assert_eq!(
            std::fs::read_to_string(d.join(".gitignore")).unwrap(),
            "*\n"
        );
        std::fs::write(d.join(".gitignore"), "*\n!keep\n").unwrap();
        dir(root.path()).unwrap();
        assert_eq!(
            std::fs::read_to_string(d.join(".gitignore")).unwrap(),
            "*\n!keep\n"
        );
    }

    #[test]
    fn an_unchanged_file_is_not_written_again() {
        let root = tempfile::tempdir().unwrap();
        let p = root.path().join("f.json");
        write_if_changed(&p, "{}");
        let before = std::fs::metadata(&p).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        write_if_changed(&p, "{}");
        assert_eq!(std::fs::metadata(&p).unwrap().modified().unwrap(), before);
        write_if_changed(&p, "{\"a\":1}");
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "{\"a\":1}");
    }
}
