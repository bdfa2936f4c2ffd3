//! The `petrel` binary: parses the command line, installs the tracing
//! subscriber (with an OTLP exporter when one is configured, see
//! `cli/telemetry.rs`) and calls the library.

mod cli;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc, not glibc's malloc: under a loaded server glibc spent about a
/// third of the host's CPU in malloc and free (sled's node copies), see
/// README "Measure". The library leaves the choice to its embedder.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    let outcome = cli::telemetry(&args).and_then(|telemetry| {
        let outcome = cli::dispatch(args);
        // Spans not yet exported go out before the process ends.
        telemetry.shutdown();
        outcome
    });
    match outcome {
        Ok(code) => code.into(),
        Err(failure) => {
            eprintln!("error: {:#}", failure.error);
            ExitCode::from(failure.code)
        }
    }
}
