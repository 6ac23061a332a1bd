//! `toykv put DIR KEY VALUE`: sets KEY to VALUE, durable when the command returns.

use super::{decode_arg, open_writable, KeyArgs};
use crate::status::{Failure, Status};

/// Set KEY to VALUE.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: KeyArgs,
    /// The value, in the same form as the key.
    value: String,
    /// Create the database when DIR holds none.
    #[arg(long)]
    create_if_missing: bool,
}

pub fn run(args: Args) -> Result<Status, Failure> {
    let key = args.target.key()?;
    let value = decode_arg(args.target.format(), "value", &args.value)?;
    let db = open_writable(&args.target.dir, args.create_if_missing)?;
    db.put(&key, &value)?;
    // close makes the write durable, and says so when it could not.
    db.close()?;
    Ok(Status::Fine)
}
