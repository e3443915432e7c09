//! `bin/dbtest` of the release archive and of the wheel.
//!
//! dbtest embeds CPython, so a release holds one engine per Python minor version
//! (`lib/dbtest/engines/py3.X/dbtest`), each linked to `libpython3.X.so.1.0` but carrying no
//! path to it. This launcher finds the project's Python by dbtest's own rules, learns its
//! version and libpython folder (cached per interpreter), and execs the engine of that minor
//! version with the loader pointed at that folder. It never links libpython itself.
//!
//! The engine is told, through the environment, what it needs to undo and redo:
//! - `DBTEST_ENGINE_LIBDIR`: the folder prepended to `LD_LIBRARY_PATH` (workers need it too);
//! - `DBTEST_ORIG_LD_LIBRARY_PATH`: the user's own value, set only if there was one, which the
//!   engine restores before user code runs;
//! - `DBTEST_ENGINE_PYTHON`: the base interpreter, so the embedded Python computes its
//!   `sys.prefix` (and finds its standard library) the way that interpreter would.
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The engine's exit code for usage errors (pytest's 4).
const USAGE: i32 = 4;
/// The engine's exit code for internal errors.
const INTERNAL: i32 = 3;

const ENV_LIBDIR: &str = "DBTEST_ENGINE_LIBDIR";
const ENV_ORIG: &str = "DBTEST_ORIG_LD_LIBRARY_PATH";
const ENV_PYTHON: &str = "DBTEST_ENGINE_PYTHON";

/// Bump when the probe's output changes, so old cache entries are ignored.
const PROBE_FORMAT: &str = "dbtest-probe 1";

/// Printed by the interpreter, one value a line. `-I -S`: no user site, no `PYTHON*`
/// variables, no `site` (faster; sysconfig needs none of it).
const PROBE: &str = r#"import os, sys, sysconfig
v = sysconfig.get_config_var
so = v("INSTSONAME") or v("LDLIBRARY") or ""
dirs = [v("LIBDIR") or "", os.path.join(sys.base_prefix, "lib")]
lib = next((d for d in dirs if d and so and os.path.exists(os.path.join(d, so))), "")
print(sys.version.split()[0])
print("%d.%d" % sys.version_info[:2])
print(sys.implementation.name)
print(int(bool(v("Py_ENABLE_SHARED"))))
print(int(bool(v("Py_GIL_DISABLED"))))
print(so)
print(lib)
print(getattr(sys, "_base_executable", "") or sys.executable)
"#;

/// A usage problem, reported like the engine's: `dbtest: error: ...`, exit 4.
#[derive(Debug)]
struct Failure {
    message: String,
    code: i32,
}

fn usage(message: impl Into<String>) -> Failure {
    Failure {
        message: message.into(),
        code: USAGE,
    }
}

fn main() {
    let mut args = std::env::args_os();
    let argv0 = args.next().unwrap_or_else(|| "dbtest".into());
    let failure = match launch(argv0, args.collect()) {
        Ok(never) => match never {},
        Err(f) => f,
    };
    eprintln!("dbtest: error: {}", failure.message);
    std::process::exit(failure.code);
}

enum Never {}

fn launch(argv0: OsString, args: Vec<OsString>) -> Result<Never, Failure> {
    let args = scan_args(args)?;
    let start = std::env::current_dir().map_err(|e| usage(format!("no current folder: {e}")))?;
    let cwd = match &args.directory {
        Some(d) => start.join(d),
        // The engine reports a missing -C folder itself; look for Pythons from here meanwhile.
        None => start.clone(),
    };
    let exe = std::env::current_exe()
        .map_err(|e| internal(format!("cannot tell where dbtest is installed: {e}")))?;
    let install = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| internal(format!("{} is not in a bin/ folder", exe.display())))?;
    let explicit = args
        .python
        .clone()
        .or_else(|| std::env::var_os("DBTEST_PYTHON").filter(|v| !v.is_empty()));
    let target = find_python(
        std::env::var_os("VIRTUAL_ENV").filter(|v| !v.is_empty()),
        explicit,
        &cwd,
        install,
    )?;
    let info = probe(&target.python)?;
    check_usable(&target, &info)?;
    let engines = install.join("lib").join("dbtest").join("engines");
    let engine = engines.join(format!("py{}", info.minor)).join("dbtest");
    if !engine.is_file() {
        let installed = installed_minors(&engines);
        let have = if installed.is_empty() {
            "none".to_string()
        } else {
            installed.join(", ")
        };
        let supported = info
            .minor
            .split_once('.')
            .and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)))
            .is_some_and(|v| v >= (3, 10));
        let hint = if supported {
            format!(
                "use a virtualenv of one of those versions, or build an engine for Python {}: \
                 dist/build.sh /path/to/python{} (see dist/README.md)",
                info.minor, info.minor
            )
        } else {
            "dbtest runs Python 3.10 and newer: use a virtualenv of one of those versions"
                .to_string()
        };
        return Err(usage(format!(
            "{} is Python {}, but this dbtest has engines only for Python {have} (in {})\n  \
             hint: {hint}",
            target.describe(),
            info.version,
            engines.display(),
        )));
    }

    let mut cmd = Command::new(&engine);
    cmd.arg0(argv0).args(&args.rest);
    let orig = std::env::var_os("LD_LIBRARY_PATH");
    let mut path = OsString::from(&info.libdir);
    if let Some(o) = orig.as_ref().filter(|o| !o.is_empty()) {
        path.push(":");
        path.push(o);
    }
    cmd.env("LD_LIBRARY_PATH", path)
        .env(ENV_LIBDIR, &info.libdir)
        .env(ENV_PYTHON, &info.base_executable);
    match orig {
        Some(o) => cmd.env(ENV_ORIG, o),
        None => cmd.env_remove(ENV_ORIG),
    };
    if let Some(venv) = &target.pass_venv {
        cmd.env("VIRTUAL_ENV", venv);
    }
    let err = cmd.exec();
    Err(internal(format!("cannot run {}: {err}", engine.display())))
}

fn internal(message: String) -> Failure {
    Failure {
        message,
        code: INTERNAL,
    }
}

/// What the launcher reads from the command line; everything else goes to the engine as is.
#[derive(Debug, Default, PartialEq)]
struct Args {
    /// `-C DIR`: where the engine will look for the project (and its `.venv`).
    directory: Option<PathBuf>,
    /// `--python PY`: the Python to use when the project has no virtualenv (taken out here).
    python: Option<OsString>,
    rest: Vec<OsString>,
}

fn scan_args(args: Vec<OsString>) -> Result<Args, Failure> {
    let mut out = Args::default();
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let b = arg.as_bytes();
        if b == b"--" {
            out.rest.push(arg);
            out.rest.extend(it);
            break;
        }
        if b == b"--python" {
            let v = it
                .next()
                .ok_or_else(|| usage("--python needs a value: a Python's path or name"))?;
            out.python = Some(v);
            continue;
        }
        if let Some(v) = b.strip_prefix(b"--python=") {
            out.python = Some(OsStr::from_bytes(v).to_os_string());
            continue;
        }
        if b == b"-C" || b == b"--directory" {
            out.rest.push(arg);
            if let Some(v) = it.next() {
                out.directory = Some(PathBuf::from(&v));
                out.rest.push(v);
            }
            continue;
        }
        let attached = b.strip_prefix(b"--directory=").or_else(|| {
            b.strip_prefix(b"-C")
                .map(|v| v.strip_prefix(b"=").unwrap_or(v))
        });
        if let Some(v) = attached.filter(|v| !v.is_empty()) {
            out.directory = Some(PathBuf::from(OsStr::from_bytes(v)));
        }
        out.rest.push(arg);
    }
    Ok(out)
}

/// The interpreter to run, and how it was found (for messages).
#[derive(Debug, PartialEq)]
struct Target {
    python: PathBuf,
    /// A virtualenv, when the Python is one's.
    venv: Option<PathBuf>,
    /// `VIRTUAL_ENV` to give the engine: a virtualenv it would not find by itself.
    pass_venv: Option<PathBuf>,
    how: &'static str,
}

impl Target {
    fn describe(&self) -> String {
        match &self.venv {
            Some(v) => format!("the virtualenv {}", v.display()),
            None => format!("the Python {} ({})", self.python.display(), self.how),
        }
    }
}

/// The nearest folder upwards holding pyproject.toml, setup.py or .git; else `cwd` (the
/// engine's rule).
fn project_root(cwd: &Path) -> PathBuf {
    cwd.ancestors()
        .find(|d| {
            ["pyproject.toml", "setup.py", ".git"]
                .iter()
                .any(|m| d.join(m).exists())
        })
        .unwrap_or(cwd)
        .to_path_buf()
}

fn is_venv(dir: &Path) -> bool {
    dir.join("pyvenv.cfg").is_file()
}

fn venv_python(dir: &Path) -> Result<PathBuf, Failure> {
    ["python3", "python"]
        .iter()
        .map(|n| dir.join("bin").join(n))
        .find(|p| p.exists())
        .ok_or_else(|| {
            usage(format!(
                "the virtualenv {} has no working bin/python3 (was its base Python removed?)\n  \
                 hint: create it again",
                dir.display()
            ))
        })
}

/// The virtualenv a Python belongs to (`<venv>/bin/python`), if any.
fn venv_of(python: &Path) -> Option<PathBuf> {
    let dir = python.parent()?.parent()?;
    is_venv(dir).then(|| dir.to_path_buf())
}

fn search_path(name: &OsStr) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter(|d| !d.as_os_str().is_empty())
        .map(|d| d.join(name))
        .find(|p| {
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// dbtest's rules, in order: `VIRTUAL_ENV`; `.venv` in the folder, then in the project root;
/// `--python`/`DBTEST_PYTHON`; the virtualenv this dbtest is installed in (the wheel);
/// `python3` on PATH.
fn find_python(
    virtual_env: Option<OsString>,
    explicit: Option<OsString>,
    cwd: &Path,
    install: &Path,
) -> Result<Target, Failure> {
    if let Some(v) = virtual_env {
        let dir = cwd.join(v);
        if !is_venv(&dir) {
            return Err(usage(format!(
                "VIRTUAL_ENV points to {}, which is not a virtualenv (no pyvenv.cfg there)\n  \
                 hint: activate the virtualenv again, or unset VIRTUAL_ENV",
                dir.display()
            )));
        }
        return Ok(Target {
            python: venv_python(&dir)?,
            venv: Some(dir),
            pass_venv: None,
            how: "VIRTUAL_ENV",
        });
    }
    for dir in [cwd.join(".venv"), project_root(cwd).join(".venv")] {
        if is_venv(&dir) {
            return Ok(Target {
                python: venv_python(&dir)?,
                venv: Some(dir),
                pass_venv: None,
                how: ".venv",
            });
        }
    }
    let interpreter = |python: PathBuf, how| {
        let venv = venv_of(&python);
        Target {
            python,
            pass_venv: venv.clone(),
            venv,
            how,
        }
    };
    if let Some(p) = explicit {
        let python = if p.as_bytes().contains(&b'/') {
            cwd.join(&p)
        } else {
            search_path(&p).ok_or_else(|| {
                usage(format!(
                    "no {} on PATH (from --python or DBTEST_PYTHON)",
                    Path::new(&p).display()
                ))
            })?
        };
        if !python.exists() {
            return Err(usage(format!(
                "the Python {} (from --python or DBTEST_PYTHON) does not exist",
                python.display()
            )));
        }
        return Ok(interpreter(python, "--python or DBTEST_PYTHON"));
    }
    if is_venv(install) {
        return Ok(Target {
            python: venv_python(install)?,
            venv: Some(install.to_path_buf()),
            pass_venv: Some(install.to_path_buf()),
            how: "the virtualenv dbtest is installed in",
        });
    }
    match search_path(OsStr::new("python3")) {
        Some(p) => Ok(interpreter(p, "python3 on PATH")),
        None => Err(usage(format!(
            "no Python found: no virtualenv (VIRTUAL_ENV, or .venv in {} or its project root), \
             no --python or DBTEST_PYTHON, and no python3 on PATH\n  \
             hint: create a virtualenv in the project (python3 -m venv .venv), or pass --python",
            cwd.display()
        ))),
    }
}

/// What the launcher needs to know of an interpreter.
#[derive(Debug, Clone, PartialEq)]
struct Info {
    /// `3.11.2`
    version: String,
    /// `3.11`
    minor: String,
    implementation: String,
    shared: bool,
    free_threaded: bool,
    /// `libpython3.11.so.1.0`
    soname: String,
    /// The folder holding `soname`, empty if none was found.
    libdir: String,
    /// The base interpreter (for a virtualenv, the Python it was made from).
    base_executable: String,
}

impl Info {
    fn parse(text: &str) -> Option<Info> {
        let l: Vec<&str> = text.lines().collect();
        if l.len() < 8 {
            return None;
        }
        Some(Info {
            version: l[0].to_string(),
            minor: l[1].to_string(),
            implementation: l[2].to_string(),
            shared: l[3] == "1",
            free_threaded: l[4] == "1",
            soname: l[5].to_string(),
            libdir: l[6].to_string(),
            base_executable: l[7].to_string(),
        })
    }

    fn lines(&self) -> String {
        format!(
            "{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n",
            self.version,
            self.minor,
            self.implementation,
            self.shared as u8,
            self.free_threaded as u8,
            self.soname,
            self.libdir,
            self.base_executable
        )
    }
}

fn check_usable(target: &Target, info: &Info) -> Result<(), Failure> {
    let what = target.describe();
    if info.implementation != "cpython" {
        return Err(usage(format!(
            "{what} is {} {}; dbtest embeds CPython\n  hint: use a CPython virtualenv",
            info.implementation, info.version
        )));
    }
    if info.free_threaded {
        return Err(usage(format!(
            "{what} is a free-threaded build of Python {}, which dbtest's engines do not support\n  \
             hint: use a virtualenv of the regular build",
            info.version
        )));
    }
    if !info.shared || info.libdir.is_empty() {
        return Err(usage(format!(
            "{what} (Python {}) has no shared libpython ({} not found), which dbtest needs to \
             embed it\n  hint: the Pythons of pyenv (with PYTHON_CONFIGURE_OPTS=--enable-shared), \
             python.org, Debian/Ubuntu, uv and conda all ship one",
            info.version,
            if info.soname.is_empty() {
                "libpython3.X.so"
            } else {
                &info.soname
            }
        )));
    }
    Ok(())
}

/// The interpreter's facts, from the cache when its file has not changed, else by running it.
fn probe(python: &Path) -> Result<Info, Failure> {
    let real = std::fs::canonicalize(python).map_err(|e| {
        usage(format!(
            "cannot use the Python {}: {e}\n  hint: if it is a virtualenv's, its base Python may have been removed; create the virtualenv again",
            python.display()
        ))
    })?;
    let meta = std::fs::metadata(&real).map_err(|e| usage(format!("{}: {e}", real.display())))?;
    // A script (a pyenv shim, say) can run a different Python each time: never cached.
    let key = is_elf(&real).then(|| cache_key(&real, &meta));
    let file = key.as_ref().and_then(|_| cache_file(&real));
    if let (Some(key), Some(file)) = (&key, &file)
        && let Some(info) = read_cache(file, key)
    {
        return Ok(info);
    }
    let out = Command::new(&real)
        .args(["-I", "-S", "-c", PROBE])
        .output()
        .map_err(|e| usage(format!("cannot run the Python {}: {e}", python.display())))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let (true, Some(info)) = (out.status.success(), Info::parse(&text)) else {
        return Err(usage(format!(
            "cannot ask the Python {} for its version ({}): {}",
            python.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    };
    if let (Some(key), Some(file)) = (key, file) {
        write_cache(&file, &key, &info);
    }
    Ok(info)
}

fn is_elf(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && magic == *b"\x7fELF"
}

fn cache_key(real: &Path, meta: &std::fs::Metadata) -> String {
    format!(
        "{PROBE_FORMAT}\n{}\n{} {} {} {}\n",
        real.display(),
        meta.mtime(),
        meta.mtime_nsec(),
        meta.size(),
        meta.ino()
    )
}

fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ *b as u64).wrapping_mul(0x100000001b3)
    })
}

/// `$XDG_CACHE_HOME/dbtest/python/<hash>`, else under `~/.cache`, else under a private
/// folder in /tmp (checked to be ours: its content picks a library folder for the loader).
fn cache_file(real: &Path) -> Option<PathBuf> {
    let abs = |v: OsString| Some(PathBuf::from(v)).filter(|p| p.is_absolute());
    let base = std::env::var_os("XDG_CACHE_HOME")
        .and_then(abs)
        .or_else(|| {
            std::env::var_os("HOME")
                .and_then(abs)
                .map(|h| h.join(".cache"))
        })
        .map(|c| c.join("dbtest"))
        .or_else(private_tmp)?;
    let name = format!("{:016x}", fnv1a(real.as_os_str().as_bytes()));
    Some(base.join("python").join(name))
}

fn private_tmp() -> Option<PathBuf> {
    let uid = std::fs::metadata("/proc/self").ok()?.uid();
    let dir = std::env::temp_dir().join(format!("dbtest-{uid}"));
    let _ = std::fs::DirBuilder::new().mode(0o700).create(&dir);
    let m = std::fs::symlink_metadata(&dir).ok()?;
    (m.is_dir() && m.uid() == uid && m.mode() & 0o022 == 0).then_some(dir)
}

fn read_cache(file: &Path, key: &str) -> Option<Info> {
    let text = std::fs::read_to_string(file).ok()?;
    Info::parse(text.strip_prefix(key)?)
}

fn write_cache(file: &Path, key: &str, info: &Info) {
    let Some(dir) = file.parent() else { return };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    // Write then rename: a concurrent dbtest never reads half an entry.
    let tmp = dir.join(format!(".tmp-{}", std::process::id()));
    if std::fs::write(&tmp, format!("{key}{}", info.lines())).is_ok() {
        let _ = std::fs::rename(&tmp, file);
    }
    let _ = std::fs::remove_file(&tmp);
}

/// `["3.10", "3.12"]`: the minor versions with an engine, in version order.
fn installed_minors(engines: &Path) -> Vec<String> {
    let mut found: Vec<(u32, u32, String)> = std::fs::read_dir(engines)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join("dbtest").is_file())
        .filter_map(|e| {
            let name = e.file_name().to_str()?.strip_prefix("py")?.to_string();
            let (a, b) = name.split_once('.')?;
            Some((a.parse().ok()?, b.parse().ok()?, name))
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, _, n)| n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn python_is_taken_out_and_directory_seen() {
        let a = scan_args(os(&["-C", "proj", "--python", "py3", "unit", "-x"])).unwrap();
        assert_eq!(a.directory, Some(PathBuf::from("proj")));
        assert_eq!(a.python, Some(OsString::from("py3")));
        assert_eq!(a.rest, os(&["-C", "proj", "unit", "-x"]));

        let a = scan_args(os(&["--python=/x/python", "--directory=d"])).unwrap();
        assert_eq!(a.python, Some(OsString::from("/x/python")));
        assert_eq!(a.directory, Some(PathBuf::from("d")));
        assert_eq!(a.rest, os(&["--directory=d"]));

        assert_eq!(
            scan_args(os(&["-Cd"])).unwrap().directory,
            Some(PathBuf::from("d"))
        );
        let a = scan_args(os(&["--", "--python", "x"])).unwrap();
        assert_eq!(a.python, None);
        assert_eq!(a.rest, os(&["--", "--python", "x"]));
        assert_eq!(scan_args(os(&["--python"])).unwrap_err().code, USAGE);
    }

    #[test]
    fn probe_output_round_trips() {
        let text = "3.11.2\n3.11\ncpython\n1\n0\nlibpython3.11.so.1.0\n/usr/lib/x86_64-linux-gnu\n/usr/bin/python3.11\n";
        let info = Info::parse(text).unwrap();
        assert_eq!(info.minor, "3.11");
        assert!(info.shared && !info.free_threaded);
        assert_eq!(info.lines(), text);
        assert!(Info::parse("3.11.2\n").is_none());
    }

    #[test]
    fn cache_entries_match_their_key_only() {
        let d = tempdir();
        let file = d.join("python").join("x");
        let info = Info::parse("3.12.1\n3.12\ncpython\n1\n0\nso\n/lib\n/bin/py\n").unwrap();
        write_cache(&file, "k1\n", &info);
        assert_eq!(read_cache(&file, "k1\n"), Some(info));
        assert_eq!(read_cache(&file, "k2\n"), None);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn engines_are_listed_in_version_order() {
        let d = tempdir();
        for m in ["py3.9", "py3.12", "py3.10", "notes"] {
            std::fs::create_dir_all(d.join(m)).unwrap();
            std::fs::write(d.join(m).join("dbtest"), "").unwrap();
        }
        std::fs::create_dir_all(d.join("py3.13")).unwrap();
        assert_eq!(installed_minors(&d), ["3.9", "3.10", "3.12"]);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn venvs_are_found_by_dbtests_rules() {
        let d = tempdir();
        let venv = |dir: &Path| {
            std::fs::create_dir_all(dir.join("bin")).unwrap();
            std::fs::write(dir.join("pyvenv.cfg"), "home = /usr/bin\n").unwrap();
            std::fs::write(dir.join("bin/python3"), "").unwrap();
        };
        let proj = d.join("proj");
        std::fs::create_dir_all(proj.join("sub")).unwrap();
        std::fs::write(proj.join("pyproject.toml"), "").unwrap();
        venv(&proj.join(".venv"));
        let install = d.join("install");
        let t = find_python(None, None, &proj.join("sub"), &install).unwrap();
        assert_eq!(t.venv, Some(proj.join(".venv")));
        assert_eq!(t.python, proj.join(".venv/bin/python3"));
        assert_eq!(t.pass_venv, None);

        let err = find_python(Some("nope".into()), None, &proj, &install).unwrap_err();
        assert!(err.message.contains("not a virtualenv"), "{}", err.message);

        // Without a project venv, the one dbtest is installed in (the wheel's case).
        venv(&install);
        let t = find_python(None, None, &d, &install).unwrap();
        assert_eq!(t.pass_venv, Some(install.clone()));
        // An explicit Python comes before it, and brings its venv along.
        let t = find_python(
            None,
            Some(proj.join(".venv/bin/python3").into()),
            &d,
            &install,
        );
        assert_eq!(t.unwrap().pass_venv, Some(proj.join(".venv")));
        std::fs::remove_dir_all(&d).unwrap();
    }

    fn tempdir() -> PathBuf {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let d = std::env::temp_dir().join(format!(
            "dbtest-launcher-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
