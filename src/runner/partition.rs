//! `--partition slice:M/N` and `--partition hash:M/N` (cargo-nextest's forms): split the
//! selected tests across N CI jobs, every test in exactly one shard, the same shards on every
//! machine.
//!
//! The unit dbtest shards is the test *file*: a file's tests share its module (imported once
//! per process), its module-level state and its suites' `setup_suite`/`teardown_suite`, which
//! must run once around all of a suite's tests. Splitting a file would import it and set its
//! suites up in several jobs, and a file whose tests only importing it can tell (undecidable
//! for the static scan) could not be split at all. So a file runs whole in one shard.
//!
//! - `slice:M/N`: the selected files in discovery order (sorted paths), file i in shard
//!   `i mod N + 1`. Balanced in file counts; a new file shifts the files after it.
//! - `hash:M/N`: shard `fnv1a64(path) mod N + 1` of the file's path relative to the project
//!   root (`/`-separated). A file stays in its shard as other files come and go. FNV-1a is
//!   fixed: never `std`'s `DefaultHasher`, whose keys are random per process.
use std::str::FromStr;

use crate::runner::plan::Plan;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Slice,
    Hash,
}

/// Shard `shard` (1-based) of `total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    pub kind: Kind,
    pub shard: u64,
    pub total: u64,
}

impl FromStr for Partition {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let usage = || {
            format!("expected slice:M/N or hash:M/N with 1 <= M <= N (e.g. hash:1/3), got {s:?}")
        };
        let (kind, rest) = s.split_once(':').ok_or_else(usage)?;
        let kind = match kind {
            "slice" => Kind::Slice,
            "hash" => Kind::Hash,
            _ => return Err(usage()),
        };
        let (m, n) = rest.split_once('/').ok_or_else(usage)?;
        let (shard, total): (u64, u64) = (
            m.trim().parse().map_err(|_| usage())?,
            n.trim().parse().map_err(|_| usage())?,
        );
        if shard == 0 || total == 0 || shard > total {
            return Err(usage());
        }
        Ok(Partition { kind, shard, total })
    }
}

impl std::fmt::Display for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            Kind::Slice => "slice",
            Kind::Hash => "hash",
        };
        write!(f, "{kind}:{}/{}", self.shard, self.total)
    }
}

/// 64-bit FNV-1a: a fixed function, the same on every machine and in every release.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

impl Partition {
    /// Whether the file at `position` (among the selected files, in discovery order) with
    /// path `rel` belongs to this shard.
    pub fn keeps(&self, position: usize, rel: &str) -> bool {
        let bucket = match self.kind {
            Kind::Slice => position as u64 % self.total,
            Kind::Hash => fnv1a64(rel.as_bytes()) % self.total,
        };
        bucket + 1 == self.shard
    }

    /// Keep this shard's items, in order; `rel` names each item's file path.
    pub fn select<T>(&self, items: Vec<T>, rel: impl Fn(&T) -> &str) -> Vec<T> {
        items
            .into_iter()
            .enumerate()
            .filter(|(i, item)| self.keeps(*i, rel(item)))
            .map(|(_, item)| item)
            .collect()
    }
}

impl Partition {
    /// Keep this shard's test files and benchmark files (each list sharded on its own).
    pub fn apply(&self, plan: &mut Plan) {
        plan.test_files = self.select(std::mem::take(&mut plan.test_files), |f| {
            f.file.rel.as_str()
        });
        plan.bench_files = self.select(std::mem::take(&mut plan.bench_files), |f| f.rel.as_str());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn parses_nextests_forms() {
        assert_eq!(
            "hash:2/3".parse::<Partition>(),
            Ok(Partition {
                kind: Kind::Hash,
                shard: 2,
                total: 3
            })
        );
        assert_eq!("slice:1/1".parse::<Partition>().unwrap().kind, Kind::Slice);
        assert_eq!(
            "hash:2/3".parse::<Partition>().unwrap().to_string(),
            "hash:2/3"
        );
        for bad in [
            "hash:0/3",
            "hash:4/3",
            "hash:1/0",
            "count:1/2",
            "hash:1",
            "1/2",
            "hash:a/b",
            "",
        ] {
            assert!(bad.parse::<Partition>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn fnv_is_the_published_function() {
        // Test vectors from the FNV reference (draft-eastlake-fnv).
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x85944171f73967e8);
    }

    fn corpus() -> Vec<String> {
        (0..500)
            .map(|i| format!("tests/pkg{}/test_mod_{i}.py", i % 7))
            .collect()
    }

    #[test]
    fn every_file_in_exactly_one_shard_for_both_kinds() {
        for kind in ["slice", "hash"] {
            for total in 1..=5u64 {
                let mut seen = HashSet::new();
                let mut count = 0;
                for shard in 1..=total {
                    let p: Partition = format!("{kind}:{shard}/{total}").parse().unwrap();
                    let got = p.select(corpus(), |s| s.as_str());
                    if total > 1 {
                        assert!(!got.is_empty(), "{p}: a shard of 500 files is not empty");
                    }
                    count += got.len();
                    seen.extend(got);
                }
                assert_eq!((count, seen.len()), (500, 500), "{kind} /{total}");
            }
        }
    }

    #[test]
    fn hash_shards_do_not_move_when_other_files_come_and_go() {
        let p: Partition = "hash:2/4".parse().unwrap();
        let all = p.select(corpus(), |s| s.as_str());
        let fewer: Vec<String> = corpus().into_iter().skip(100).collect();
        let kept = p.select(fewer, |s| s.as_str());
        assert!(kept.iter().all(|f| all.contains(f)));
        // Slices are round-robin over position.
        let s: Partition = "slice:2/3".parse().unwrap();
        let got = s.select(vec!["a", "b", "c", "d", "e"], |s| s);
        assert_eq!(got, vec!["b", "e"]);
    }
}
