//! Embedding needs the loader to find libpython at run time, and the binary to know which
//! Python it was built for (to check virtualenvs before starting the interpreter).
fn main() {
    let config = pyo3_build_config::get();
    if let Some(dir) = config.lib_dir() {
        // The build interpreter's lib dir (e.g. a pyenv install) is not on the default
        // search path; an rpath lets the built binary run without LD_LIBRARY_PATH.
        println!("cargo:rustc-link-arg-bins=-Wl,-rpath,{dir}");
    }
    println!(
        "cargo:rustc-env=DBTEST_PYTHON_MINOR={}.{}",
        config.version().major,
        config.version().minor
    );
    println!("cargo:rerun-if-env-changed=PYO3_PYTHON");
}
