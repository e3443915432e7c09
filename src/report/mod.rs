//! The reporting side: it consumes events and a finished run, and never reaches into the
//! runner. One exporter per format behind one trait; `Outputs` decides which a run writes.
mod bench;
mod console;
pub mod github;
mod html;
mod json;
pub mod junit;
pub mod list;
mod markdown;
mod outputs;
mod progress;
mod run;
mod text;

pub use outputs::Outputs;
pub use run::RunReport;
#[cfg(test)]
pub(crate) use run::fixtures;
