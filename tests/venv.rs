//! Virtualenvs: `VIRTUAL_ENV` and a project's `.venv`, their packages and `.pth` files, and
//! a virtualenv of another Python being a usage error.
mod common;

use std::path::Path;

use common::*;

fn write_venv(dir: &Path, version_line: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("pyvenv.cfg"),
        format!("home = /usr/bin\ninclude-system-site-packages = false\n{version_line}\n"),
    )
    .unwrap();
}

fn simple_project() -> Project {
    let p = Project::new();
    p.write(
        "tests/test_a.py",
        "from dbtest import test\n\n@test\ndef ok():\n    pass\n",
    );
    p
}

#[test]
fn a_virtualenv_of_another_python_is_a_usage_error() {
    let p = simple_project();
    let venv = p.path("old-venv");
    write_venv(&venv, "version = 3.8.18");
    let out = p.cmd().env("VIRTUAL_ENV", &venv).output().unwrap();
    assert_eq!(code(&out), Some(4), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("3.8.18"), "{err}");
    assert!(err.contains("3.11"), "{err}");
    assert!(err.contains("PYO3_PYTHON="), "{err}");
    assert!(out.stdout.is_empty(), "{}", stdout(&out));

    // uv writes version_info instead of version.
    write_venv(&venv, "version_info = 3.12.1.final.0");
    let out = p.cmd().env("VIRTUAL_ENV", &venv).output().unwrap();
    assert_eq!(code(&out), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("3.12.1"), "{}", stderr(&out));

    // A project's .venv is found without VIRTUAL_ENV, and checked the same way.
    write_venv(&p.path(".venv"), "version = 3.8.18");
    let out = p.cmd().output().unwrap();
    assert_eq!(code(&out), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("3.8.18"), "{}", stderr(&out));

    // --list imports nothing, so it needs no virtualenv.
    let out = p.cmd().arg("--list").output().unwrap();
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "tests/test_a.py::ok\n");
}

#[test]
fn virtual_env_pointing_at_a_non_venv_is_a_usage_error() {
    let p = simple_project();
    std::fs::create_dir_all(p.path("not-a-venv")).unwrap();
    let out = p
        .cmd()
        .env("VIRTUAL_ENV", p.path("not-a-venv"))
        .output()
        .unwrap();
    assert_eq!(code(&out), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("not-a-venv"), "{}", stderr(&out));
    let out = p
        .cmd()
        .env("VIRTUAL_ENV", p.path("does-not-exist"))
        .output()
        .unwrap();
    assert_eq!(code(&out), Some(4), "{}", stderr(&out));
}

#[test]
fn a_matching_virtualenv_makes_its_packages_importable() {
    let p = Project::new();
    let venv = p.path("venvs/good");
    write_venv(&venv, "version = 3.11.7");
    let site = venv.join("lib/python3.11/site-packages");
    std::fs::create_dir_all(&site).unwrap();
    std::fs::write(site.join("somepkg.py"), "WHERE = 'site-packages'\n").unwrap();
    let extra = p.path("editable_src");
    std::fs::create_dir_all(&extra).unwrap();
    std::fs::write(extra.join("otherpkg.py"), "WHERE = 'pth'\n").unwrap();
    std::fs::write(site.join("_editable.pth"), format!("{}\n", extra.display())).unwrap();
    p.write(
        "tests/test_venv.py",
        r#"
        from dbtest import test

        @test
        def imports_from_site_packages():
            import somepkg
            assert somepkg.WHERE == "site-packages"

        @test
        def imports_from_a_pth_folder():
            import otherpkg
            assert otherpkg.WHERE == "pth"
        "#,
    );
    let out = p
        .cmd()
        .env("VIRTUAL_ENV", &venv)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let report = parse_json(&out);
    assert_eq!(code(&out), Some(0), "{report:#}");
    assert_eq!(report["summary"]["passed"], 2, "{report:#}");

    // A project's .venv is used without VIRTUAL_ENV, and its Python becomes sys.executable.
    let dot = p.path(".venv");
    write_venv(&dot, "version = 3.11.7");
    let dot_site = dot.join("lib/python3.11/site-packages");
    std::fs::create_dir_all(&dot_site).unwrap();
    std::fs::write(dot_site.join("somepkg.py"), "WHERE = 'site-packages'\n").unwrap();
    std::fs::write(
        dot_site.join("_editable.pth"),
        format!("{}\n", extra.display()),
    )
    .unwrap();
    std::fs::create_dir_all(dot.join("bin")).unwrap();
    std::fs::write(dot.join("bin/python"), "").unwrap();
    p.write(
        "tests/test_executable.py",
        &format!(
            "import sys\nfrom dbtest import test\n\n@test\ndef executable_is_the_venvs():\n    assert sys.executable == {:?}, sys.executable\n",
            dot.join("bin/python").display().to_string()
        ),
    );
    let (report, out) = p.run_json(&[]);
    assert_eq!(code(&out), Some(0), "{report:#}");
    assert_eq!(report["summary"]["passed"], 3, "{report:#}");
    std::fs::remove_dir_all(&dot).unwrap();
    std::fs::remove_file(p.path("tests/test_executable.py")).unwrap();

    // Without the virtualenv the same tests cannot import those packages.
    let (report, out) = p.run_json(&[]);
    assert_eq!(code(&out), Some(1), "{report:#}");
    assert_eq!(report["summary"]["errors"], 2, "{report:#}");
}
