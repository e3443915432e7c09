//! The reporting side: it consumes events and a finished run, and never reaches into the
//! runner. One exporter per format behind one trait; `Outputs` decides which a run writes.
mod bench;
mod console;
mod html;
mod json;
// Not wired into the outputs yet.
#[allow(dead_code)]
pub mod github;
#[allow(dead_code)]
pub mod junit;
pub mod list;
mod markdown;
mod outputs;
mod progress;
mod run;
mod text;

pub use outputs::{Outputs, ReportFiles};
#[cfg(test)]
pub(crate) use run::fixtures;
pub use run::RunReport;
