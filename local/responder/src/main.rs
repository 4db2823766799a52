//! `responder`: run GuardDuty Responder locally. See `responder --help`.

use clap::Parser;

#[tokio::main]
async fn main() {
    let cli = responder::cli::Cli::parse();
    match responder::cli::main(cli).await {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("responder: {e:#}");
            std::process::exit(2);
        }
    }
}
