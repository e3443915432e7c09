//! pytest fixtures as far as the sources show them, for the static scan: a test whose
//! fixtures (requested by it, by `usefixtures`, by autouse, or by other fixtures in turn)
//! include a parametrized one has ids only an import tells, and so has one requesting a
//! fixture defined where the scan cannot see (an import, a star import, `pytest_plugins`).
use std::collections::{HashMap, HashSet};

/// Fixtures pytest itself provides: none is parametrized.
pub const BUILTIN: &[&str] = &[
    "request",
    "tmp_path",
    "tmp_path_factory",
    "tmpdir",
    "tmpdir_factory",
    "monkeypatch",
    "capsys",
    "capsysbinary",
    "capfd",
    "capfdbinary",
    "caplog",
    "recwarn",
    "pytestconfig",
    "doctest_namespace",
    "cache",
    "record_property",
    "record_xml_attribute",
    "record_testsuite_property",
    "subtests",
];

/// One `@pytest.fixture` definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fixture {
    /// Its name as requested (`name=` if given, else the function's).
    pub name: String,
    pub line: u32,
    /// `params=` is given: each value makes its own test id.
    pub params: bool,
    /// The fixtures it requests (its parameters without defaults).
    pub args: Vec<String>,
    pub autouse: bool,
}

/// The fixtures one place defines (a class, the test module, one conftest.py).
#[derive(Debug, Clone, Default)]
pub struct Level {
    /// Where, for messages (`tests/conftest.py`).
    pub file: String,
    pub fixtures: HashMap<String, Fixture>,
    /// Names bound by imports: fixtures the scan does not see into.
    pub imported: HashSet<String>,
    /// Why names not found anywhere may still be fixtures here (`from x import *`,
    /// `pytest_plugins`).
    pub opaque: Option<String>,
}

impl Level {
    /// Add a fixture; a later definition of the same name replaces the earlier one.
    pub fn add(&mut self, f: Fixture) {
        self.fixtures.insert(f.name.clone(), f);
    }
}

/// Why a test requesting `names` (with `covered` given by a literal parametrize) has ids only
/// an import tells, looking fixtures up in `levels`, nearest first; None when its id is its
/// name as the scan sees it.
pub fn problem(levels: &[&Level], names: &[String], covered: &[String]) -> Option<String> {
    let mut work: Vec<(String, usize)> = Vec::new();
    for l in levels {
        let mut auto: Vec<&Fixture> = l.fixtures.values().filter(|f| f.autouse).collect();
        auto.sort_by_key(|f| f.line);
        work.extend(auto.into_iter().map(|f| (f.name.clone(), 0)));
    }
    work.extend(
        names
            .iter()
            .filter(|n| !covered.contains(n))
            .map(|n| (n.clone(), 0)),
    );
    let mut seen: HashSet<(String, usize)> = HashSet::new();
    while let Some((name, from)) = work.pop() {
        if !seen.insert((name.clone(), from)) {
            continue;
        }
        let found =
            levels
                .iter()
                .enumerate()
                .skip(from)
                .find_map(|(i, l)| match l.fixtures.get(&name) {
                    Some(f) => Some(Ok((i, l, f))),
                    None if l.imported.contains(&name) => Some(Err(*l)),
                    None => None,
                });
        match found {
            Some(Ok((i, l, f))) => {
                if f.params {
                    return Some(format!(
                        "parametrized fixture '{name}' at {}:{}",
                        l.file, f.line
                    ));
                }
                for a in &f.args {
                    // A fixture requesting its own name gets the one it overrides.
                    work.push((a.clone(), if *a == name { i + 1 } else { 0 }));
                }
            }
            Some(Err(l)) => {
                return Some(format!(
                    "fixture '{name}', imported into {} where the scan cannot see it",
                    l.file
                ));
            }
            None if BUILTIN.contains(&name.as_str()) => {}
            None => {
                if let Some(l) = levels.iter().skip(from).find(|l| l.opaque.is_some()) {
                    return Some(format!(
                        "fixture '{name}', which may come from {} in {}",
                        l.opaque.as_deref().unwrap_or_default(),
                        l.file
                    ));
                }
                // Else an installed plugin's fixture, or a name pytest reports as missing.
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fx(name: &str, params: bool, args: &[&str], autouse: bool) -> Fixture {
        Fixture {
            name: name.into(),
            line: 1,
            params,
            args: args.iter().map(|a| a.to_string()).collect(),
            autouse,
        }
    }

    fn level(file: &str, fixtures: Vec<Fixture>) -> Level {
        let mut l = Level {
            file: file.into(),
            ..Level::default()
        };
        for f in fixtures {
            l.add(f);
        }
        l
    }

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parametrized_fixtures_are_found_through_other_fixtures_and_autouse() {
        let conf = level("tests/conftest.py", vec![fx("number", true, &[], false)]);
        let module = level(
            "tests/test_a.py",
            vec![fx("double", false, &["number"], false)],
        );
        let levels = [&module, &conf];
        let why = problem(&levels, &names(&["double"]), &[]).unwrap();
        assert_eq!(why, "parametrized fixture 'number' at tests/conftest.py:1");
        assert_eq!(
            problem(&levels, &names(&["tmp_path", "monkeypatch"]), &[]),
            None
        );
        // A literal parametrize of the argument replaces the fixture.
        assert_eq!(
            problem(&levels, &names(&["number"]), &names(&["number"])),
            None
        );
        let auto = level("conftest.py", vec![fx("each", true, &[], true)]);
        assert!(problem(&[&module, &auto], &[], &[]).is_some());
    }

    #[test]
    fn overrides_and_unseen_definitions() {
        // The module's plain `number` overrides the conftest's parametrized one...
        let conf = level("conftest.py", vec![fx("number", true, &[], false)]);
        let plain = level("test_a.py", vec![fx("number", false, &[], false)]);
        assert_eq!(problem(&[&plain, &conf], &names(&["number"]), &[]), None);
        // ...unless it requests the one it overrides.
        let wrapping = level("test_a.py", vec![fx("number", false, &["number"], false)]);
        assert!(problem(&[&wrapping, &conf], &names(&["number"]), &[]).is_some());
        let mut hidden = level("conftest.py", vec![]);
        hidden.imported.insert("db".into());
        let why = problem(&[&hidden], &names(&["db"]), &[]).unwrap();
        assert!(why.contains("imported into conftest.py"), "{why}");
        hidden.opaque = Some("pytest_plugins".into());
        assert!(problem(&[&hidden], &names(&["other"]), &[]).is_some());
        assert_eq!(problem(&[&hidden], &names(&["capsys"]), &[]), None);
        assert_eq!(problem(&[&conf], &names(&["mocker"]), &[]), None);
    }
}
