//! The reporting side: it consumes events and a finished run, and never reaches into the
//! runner. One exporter per format behind one trait; `Outputs` decides which a run writes.
mod bench;
mod console;
mod html;
mod json;
mod markdown;
mod progress;
mod run;
mod text;

pub use console::Console;
pub use html::Html;
pub use json::Json;
pub use markdown::Markdown;
pub use progress::Progress;
pub use run::{Exporter, RunReport, STOPPED_BY_OVERRUN};
