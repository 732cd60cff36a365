use std::process::ExitCode;

fn main() -> ExitCode {
    bookme::cli::main()
}
