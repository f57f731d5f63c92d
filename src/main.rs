//! The `campanile` binary: everything lives in the library; this only hands over.

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(campanile::cli::run())
}
