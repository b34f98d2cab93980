use clap::Parser;

/// mimalloc: large ingestion and query buffers are reused instead of freshly mapped and
/// faulted in by the system allocator on every request.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = eddy_cli::Cli::parse();
    match eddy_cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
