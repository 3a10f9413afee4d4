//! `confsync completions <shell>` and `confsync manpage`, both generated
//! from the same clap definition as `--help`.

use std::process::ExitCode;

use clap::CommandFactory;

use super::{exit, Cli};

pub fn completions(shell: clap_complete::Shell) -> ExitCode {
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "confsync", &mut std::io::stdout());
    exit::code(exit::OK)
}

pub fn manpage() -> ExitCode {
    let page = clap_mangen::Man::new(Cli::command());
    match page.render(&mut std::io::stdout()) {
        Ok(()) => exit::code(exit::OK),
        Err(e) => {
            eprintln!("error: cannot write the man page: {e}");
            exit::code(exit::FAILED)
        }
    }
}
