//! Started by the release launcher (`launcher/`, see dist/README.md): it put the project
//! Python's libpython folder in front of `LD_LIBRARY_PATH` for this engine only. Before
//! anything else runs, the user's own value is put back (tests and what they start see what
//! the user set), and kept here to give to worker processes, which are engines too.
use std::ffi::OsString;
use std::sync::OnceLock;

/// The libpython folder the launcher chose.
pub const LIBDIR_VAR: &str = "DBTEST_ENGINE_LIBDIR";
/// The user's `LD_LIBRARY_PATH`, set only if they had one.
pub const ORIG_VAR: &str = "DBTEST_ORIG_LD_LIBRARY_PATH";
/// The project's base interpreter, whose `sys.prefix` the embedded Python takes.
pub const PYTHON_VAR: &str = "DBTEST_ENGINE_PYTHON";

#[derive(Debug)]
struct Launched {
    libdir: OsString,
    python: Option<OsString>,
}

static LAUNCHED: OnceLock<Option<Launched>> = OnceLock::new();

/// Take the launcher's variables out of the environment and restore `LD_LIBRARY_PATH`.
/// Called first thing in `main`, while the process has one thread.
pub fn take_from_environment() {
    let launched = std::env::var_os(LIBDIR_VAR)
        .filter(|v| !v.is_empty())
        .map(|libdir| {
            let orig = std::env::var_os(ORIG_VAR);
            let python = std::env::var_os(PYTHON_VAR).filter(|v| !v.is_empty());
            // SAFETY: main calls this before it starts any thread.
            unsafe {
                match orig {
                    Some(v) => std::env::set_var("LD_LIBRARY_PATH", v),
                    None => std::env::remove_var("LD_LIBRARY_PATH"),
                }
                for var in [LIBDIR_VAR, ORIG_VAR, PYTHON_VAR] {
                    std::env::remove_var(var);
                }
            }
            Launched { libdir, python }
        });
    let _ = LAUNCHED.set(launched);
}

fn launched() -> Option<&'static Launched> {
    LAUNCHED.get().and_then(Option::as_ref)
}

/// The interpreter the embedded Python should take its prefix from, if launched.
pub fn python() -> Option<&'static OsString> {
    launched().and_then(|l| l.python.as_ref())
}

/// What a worker process needs in its environment to start as this one did (nothing when
/// dbtest was not started by the launcher).
pub fn worker_env() -> Vec<(&'static str, OsString)> {
    let Some(l) = launched() else {
        return Vec::new();
    };
    let user = std::env::var_os("LD_LIBRARY_PATH");
    let mut env = vec![
        ("LD_LIBRARY_PATH", join(&l.libdir, user.as_ref())),
        (LIBDIR_VAR, l.libdir.clone()),
    ];
    if let Some(u) = user {
        env.push((ORIG_VAR, u));
    }
    if let Some(p) = &l.python {
        env.push((PYTHON_VAR, p.clone()));
    }
    env
}

fn join(libdir: &OsString, user: Option<&OsString>) -> OsString {
    let mut path = libdir.clone();
    if let Some(u) = user.filter(|u| !u.is_empty()) {
        path.push(":");
        path.push(u);
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libdir_goes_first() {
        let d = OsString::from("/py/lib");
        assert_eq!(join(&d, None), "/py/lib");
        assert_eq!(join(&d, Some(&"".into())), "/py/lib");
        assert_eq!(join(&d, Some(&"/a:/b".into())), "/py/lib:/a:/b");
    }
}
