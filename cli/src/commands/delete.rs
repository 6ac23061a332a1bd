//! `toykv delete DIR KEY`: deletes KEY (a no-op when absent), durable when the command
//! returns.

use super::{open_writable, KeyArgs};
use crate::status::{Failure, Status};

/// Delete KEY (nothing to do when it is absent).
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: KeyArgs,
}

pub fn run(args: Args) -> Result<Status, Failure> {
    let key = args.target.key()?;
    let db = open_writable(&args.target.dir, false)?;
    db.delete(&key)?;
    db.close()?;
    Ok(Status::Fine)
}
