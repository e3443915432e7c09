//! Embedding needs the loader to find libpython at run time, and the binary to know which
//! Python it was built for (to check virtualenvs before starting the interpreter).
fn main() {
    let config = pyo3_build_config::get();
    // `DBTEST_NO_RPATH=1` (set by dist/build.sh): no build-machine path in the binary; the
    // release archive's launcher points the loader at the project Python's libpython instead.
    let no_rpath = std::env::var_os("DBTEST_NO_RPATH").is_some_and(|v| !v.is_empty() && v != "0");
    if let (Some(dir), false) = (config.lib_dir(), no_rpath) {
        // The build interpreter's lib dir (e.g. a pyenv install) is not on the default
        // search path; an rpath lets the built binary run without LD_LIBRARY_PATH.
        println!("cargo:rustc-link-arg-bins=-Wl,-rpath,{dir}");
    }
    // The build interpreter, whose prefix the embedded Python takes (engine.rs); left out of
    // release engines, whose launcher names the project's interpreter at run time.
    let build_python = match no_rpath {
        true => "",
        false => config.executable().unwrap_or_default(),
    };
    println!("cargo:rustc-env=DBTEST_BUILD_PYTHON={build_python}");
    println!(
        "cargo:rustc-env=DBTEST_PYTHON_MINOR={}.{}",
        config.version().major,
        config.version().minor
    );
    println!("cargo:rerun-if-env-changed=PYO3_PYTHON");
    println!("cargo:rerun-if-env-changed=DBTEST_NO_RPATH");
}
