//! The `scelle` binary: parses arguments and hands over to [`scelle::cli`]. Nothing else.

fn main() -> std::process::ExitCode {
    scelle::cli::main()
}
