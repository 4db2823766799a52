//! `responder`: run GuardDuty Responder locally.

fn main() {
    eprintln!("responder: the command line is being assembled");
}
