//! `toykv get DIR KEY`: prints the key's value. Exit status 1 when the key is absent.

use super::{open_read_only, KeyArgs};
use crate::status::{finish_output, Failure, Status};
use std::io::Write;

/// Print the value of KEY (exit status 1 when it is absent); opens the database read-only.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: KeyArgs,
}

pub fn run(args: Args) -> Result<Status, Failure> {
    let key = args.target.key()?;
    let db = open_read_only(&args.target.dir)?;
    let Some(value) = db.get(&key)? else {
        return Err(Failure::problem(format!(
            "key {:?} not found",
            args.target.key
        )));
    };
    db.close()?;
    let line = args.target.format().encode(&value);
    finish_output(writeln!(std::io::stdout().lock(), "{line}"), Status::Fine)
}
